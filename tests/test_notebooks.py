"""Every notebook in notebooks/ executes top to bottom without an error, and is stored executed."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: notebooks of optional extras: the module each needs
NEEDS = {"petsc": "petsc4py"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    if path.stem in NEEDS:
        pytest.importorskip(NEEDS[path.stem], reason=f"{path.name} needs {NEEDS[path.stem]} "
                                                     "(`make petsc`)")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.output_type == "stream")
    assert "Traceback" not in text


#: a code cell that makes a figure: it must store the figure (image/png) it shows
_PLOTS = re.compile(r"plt\.(subplots|figure|subplot)\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_item18_stored_notebook_shows_its_outputs(path):
    """Issue 26, item 18: a notebook is stored executed, so a reader on a code host sees its
    figures. Old: bcd.ipynb and constrained.ipynb were stored without any output.

    Every code cell has an execution count, in order (run top to bottom); every cell that
    makes a figure stores an image/png output; no stored output is an error.
    """
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    assert None not in counts, f"{path.name}: cells not executed (run `jupyter nbconvert " \
                               "--execute --inplace` or tests' runner and store the result)"
    assert counts == sorted(counts), f"{path.name}: cells were not run top to bottom: {counts}"
    for i, cell in enumerate(code):
        outputs = cell.get("outputs", [])
        assert not [o for o in outputs if o["output_type"] == "error"], (path.name, i)
        if _PLOTS.search("".join(cell["source"])):
            assert any("image/png" in o.get("data", {}) for o in outputs), \
                f"{path.name}: code cell {i} makes a figure but stores no image/png output"
