"""`panel keys`: the operator's side of the key ring (status, rotation, retiring, rewrapping).

The primitives (sealing, the key ring itself) are in panel.crypto; this feature drives them
over every sealed column, in batches, resumably."""
