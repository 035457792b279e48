"""The package's import graph tells the story of a run: every arrow points down the layers.

errors, files, config, schema, arrays, runtime   (no pipeline imports; handoff: errors only)
text -> sketch -> learn            (shared machinery: normalisation, MinHash/LSH, estimators)
stages                             (one module per stage, on one level)
run                                (the orchestration)
scoring -> training -> evaluation  (make train / make eval; never imported by a run)
bench                              (make bench; never imported by a run)
cli, pipeline (the public API)
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from pipeline import config

PACKAGE = config.REPO_ROOT / "pipeline"
LAYERS = {
    "errors": 0,
    "files": 0,
    "config": 0,
    "schema": 0,
    "arrays": 0,
    "runtime": 0,
    "handoff": 0.5,
    "text": 1,
    "sketch": 2,
    "learn": 3,
    "stages": 4,
    "report": 4.5,
    "run": 5,
    "engines": 5.5,
    "scoring": 6,
    "training": 7,
    "evaluation": 8,
    "bench": 8,
    "cli": 9,
    "": 10,  # pipeline/__init__.py, the public API
}
READ_PARTS = {"read": {"formats", "decode"}, "formats": {"decode"}}
"""The only stage modules that import other stage modules: the read stage and its parts."""
NOT_ON_THE_RUN_PATH = ("pipeline.scoring", "pipeline.training", "pipeline.evaluation", "pipeline.bench")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every pipeline module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipeline"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from pipeline.x import y`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("pipeline"))
    return {m for m in found if _exists(m)}


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative / "__init__.py").exists()


def layer(module: str) -> float:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else ""]


def test_every_module_has_a_layer():
    for path in PACKAGE.rglob("*.py"):
        assert layer(module_name(path)) >= 0


def test_no_import_points_up_the_layers():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for imported in sorted(imported_modules(path)):
            same_package = importer.split(".")[:2] == imported.split(".")[:2]
            if imported != "pipeline" and not same_package and layer(imported) > layer(importer):
                upward.append(f"{importer} -> {imported}")
    assert not upward, upward


def test_stages_sit_on_one_level():
    across = []
    for path in sorted((PACKAGE / "stages").glob("*.py")):
        for imported in imported_modules(path):
            if imported.startswith("pipeline.stages.") and path.stem != "__init__":
                other = imported.split(".")[2]
                if other not in READ_PARTS.get(path.stem, set()):
                    across.append(f"{path.stem} -> {other}")
    assert not across, across


def test_a_run_imports_nothing_from_training_evaluation_or_benchmarks(tmp_path):
    script = f"""
import json, sys
from pipeline import cli
code = cli.main(["run", {str(config.REPO_ROOT / "seeds")!r}, "--out", {str(tmp_path / "out")!r}, "--quiet"])
print(json.dumps({{"code": code, "modules": sorted(m for m in sys.modules if m.startswith("pipeline"))}}))
"""
    result = json.loads(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    )
    assert result["code"] == 0
    assert "pipeline.stages.write" in result["modules"]  # the run did run
    loaded = [m for m in result["modules"] if m.startswith(NOT_ON_THE_RUN_PATH)]
    assert not loaded, loaded


def test_help_imports_none_of_the_heavy_libraries():
    script = """
import json, sys
from pipeline import cli
try:
    cli.main(["run", "--help"])
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not loaded & {"pandas", "sklearn", "datasketch", "scipy", "numpy", "pyarrow"}, loaded
