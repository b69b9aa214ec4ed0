"""Reading the job results the server writes for the node exporter's textfile collector."""

from __future__ import annotations

import re

from .roles import role_default

TEXTFILE_DIR = role_default("base", "base_textfile_dir")
SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def read_metrics(provisioned, file: str) -> dict[str, tuple[dict[str, str], float]]:
    """{metric name: (labels, value)} of one .prom file in the textfile directory."""
    return parse_metrics(provisioned.sh(f"cat {TEXTFILE_DIR}/{file}"), file)


def parse_metrics(text: str, file: str) -> dict[str, tuple[dict[str, str], float]]:
    """{metric name: (labels, value)} of a .prom file's text (`file` names it in errors)."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample line in {file}: {line!r}"
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        samples[match["name"]] = (labels, float(match["value"]))
    return samples


def job_result_file(job: str, labels: str = "", kind: str = "run") -> str:
    """The file board-job-result writes for JOB and LABELS (e.g. 'certificate="postgresql"'):
    its `run` file (last run and outcome) or its `success` file."""
    suffix = re.sub(r"[^A-Za-z0-9_]", "_", labels)
    return f"board_{job}{'_' + suffix if suffix else ''}_{kind}.prom"
