"""`panel logs import FILE --domain D` and `panel retention report|run`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from panel.cliutil import needs_database
from plugins.privacy.retention.services import schedule as retention
from plugins.privacy.retention.services import visitor_logs


@click.group("logs")
def logs_group() -> None:
    """Hosted sites' access logs, turned into visitor statistics."""


@logs_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--domain", "domain_name", required=True, help="The hosted domain the log is for.")
@click.option("--force", is_flag=True, help="Count a file again even if it was imported before.")
@needs_database
def import_log(file: Path, domain_name: str, force: bool) -> None:
    """Import an Apache/nginx combined-format access log (plain or gzip). Only per-day counts
    and truncated networks are kept; malformed lines are counted and reported."""
    domain = visitor_logs.find_domain(domain_name)
    if domain is None:
        raise click.ClickException(f"no hosted domain is called {domain_name!r}")
    started = time.perf_counter()
    show = sys.stderr.isatty()

    def progress(lines: int) -> None:
        if show:
            click.echo(f"\r  {lines:,} lines read ({lines / (time.perf_counter() - started):,.0f}"
                       " lines/s)", nl=False, err=True)

    try:
        record = visitor_logs.import_file(file, domain, force=force, progress=progress)
    except visitor_logs.ImportError_ as exc:
        raise click.ClickException(str(exc)) from None
    if show:
        click.echo("", err=True)
    took = time.perf_counter() - started
    click.echo(f"{domain.name}: {record.lines:,} lines in {took:.1f} s, {record.imported:,} "
               f"counted, {record.malformed:,} malformed (skipped)")


@click.group("retention")
def retention_group() -> None:
    """The retention schedule."""


@retention_group.command("report")
@needs_database
def report() -> None:
    """Each category: rule, legal basis, due now, held; then what was purged on each date."""
    for line in retention.due():
        held = f", {line['held']:,} held" if line["held"] else ""
        click.echo(f"{line['title']}: {line['rule']}\n    basis: {line['basis']}\n"
                   f"    due now: {line['due']:,}{held}")
    history = retention.history()
    click.echo("\npurged in the last 90 days:" if history else "\nnothing purged in the last 90 days")
    for day, counts in history:
        click.echo(f"  {day.isoformat()}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    holds = retention.active_holds()
    click.echo(f"\nlegal holds in force: {len(holds)}")


@retention_group.command("run")
@needs_database
def run() -> None:
    """Run the schedule now (as `panel cron` does every hour)."""
    click.echo(retention.job())
