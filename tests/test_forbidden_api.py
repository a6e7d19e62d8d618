"""The forbidden-API rule (manifest key ``forbidden_apis``): a function or class of an allowed
library, e.g. ``torch.nn.functional.scaled_dot_product_attention`` in the transformers
assignment, is (1) reported by the static scan of the submission, through aliases, attribute
chains and strings built for ``getattr``; (2) replaced inside the sandbox worker, before the
package is imported, by a blocker that raises a clear error, while the worker's own code and the
rest of torch keep working; (3) graded: a submission that calls it earns nothing for those calls
and its instructor report lists the scan's findings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.manifest import find_assignment, load_manifest
from harness.schema import ManifestError
from harness.static_checks import forbidden_api_uses, pack_command, read_manifest
from tests.conftest import ROOT, needs_bwrap

APIS = ["torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
        "torch.nn.TransformerEncoderLayer", "torch._C._nn.scaled_dot_product_attention"]


def scan(tmp_path: Path, source: str) -> list[str]:
    pkg = tmp_path / "pkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "mod.py").write_text(textwrap.dedent(source))
    return forbidden_api_uses(tmp_path, APIS)


def lines_of(findings: list[str]) -> set[int]:
    return {int(f.split(":")[1]) for f in findings}


# ------------------------------------------------------------------------------ static scan
@pytest.mark.parametrize("source", [
    "import torch\ntorch.nn.functional.scaled_dot_product_attention(1, 2, 3)\n",
    "import torch.nn.functional as F\nF.scaled_dot_product_attention(1, 2, 3)\n",
    "from torch.nn import functional as Q\nQ.scaled_dot_product_attention(1, 2, 3)\n",
    "from torch import nn\nnn.functional.scaled_dot_product_attention(1, 2, 3)\n",
    "from torch.nn.functional import scaled_dot_product_attention as s\ns(1, 2, 3)\n",
    "import torch.nn.functional as F\ngetattr(F, 'scaled_' + 'dot_product_attention')(1, 2, 3)\n",
    "import torch.nn.functional as F\ngetattr(F, ''.join(['scaled_dot', '_product_attention']))\n",
    "import torch.nn.functional as F\nname = f\"{'scaled_dot_product'}_attention\"\ngetattr(F, name)\n",
    "import torch\nf = torch._C._nn.scaled_dot_product_attention\n",
    "import torch\nf = torch.ops.aten._scaled_dot_product_attention_math\n",
    "from torch import nn\nm = nn.MultiheadAttention(4, 2)\n",
    "import torch.nn as tnn\nclass A(tnn.MultiheadAttention):\n    pass\n",
    "import torch\nm = torch.nn.modules.activation.MultiheadAttention\n",
    "from torch.nn.modules.activation import MultiheadAttention\n",
    "import torch\nm = getattr(torch.nn, 'Multihead' + 'Attention')\n",
    "from torch import nn\nlayer = nn.TransformerEncoderLayer(8, 2)\n",
])
def test_scan_finds_uses_through_aliases_and_strings(tmp_path, source):
    found = scan(tmp_path, source)
    assert found, f"not found in:\n{source}"
    assert all("mod.py:" in f for f in found)
    assert any("forbids" in f for f in found)


def test_scan_reports_dynamic_access_it_cannot_resolve(tmp_path):
    found = scan(tmp_path, """
        import torch
        import torch.nn.functional as F
        def f(name):
            return getattr(F, name), getattr(torch.nn, name.upper())
        eval("1 + 1")
        """)
    assert lines_of(found) == {5, 6}
    assert any("computed at run time" in f for f in found) and any("eval()" in f for f in found)


def test_scan_leaves_honest_code_alone(tmp_path):
    found = scan(tmp_path, '''
        """Attention by hand; never F.scaled_dot_product_attention (docstrings are not code)."""
        import torch
        from torch import nn

        class VisionTransformer(nn.Module):
            """Like nn.MultiheadAttention but by hand."""

            def forward(self, x):
                self.eval()
                return torch.softmax(x, dim=-1)

        class SwinTransformerBlock(nn.Module):
            pass

        def scaled_attention(q, k):
            return getattr(q, "shape"), q @ k
        ''')
    assert found == []


def test_scan_ignores_the_names_in_all(tmp_path):
    """A package's own export may share a forbidden API's name (onestage's hand-written
    ``grid_sample``): listing it in ``__all__`` or naming it in the stub's NotImplementedError is
    not reported, other strings naming it are."""
    found = scan(tmp_path, """
        __all__ = ["scaled_dot_product_attention", "helper"]
        __all__ += ("MultiheadAttention",)
        name = "scaled_dot_product_attention"
        def scaled_dot_product_attention():
            raise NotImplementedError("scaled_dot_product_attention: implement me")
        """)
    assert lines_of(found) == {4}, found
    a = find_assignment("onestage")
    for root in (ROOT / "reference" / "onestage", ROOT / "assignments" / "onestage"):
        assert forbidden_api_uses(root / "onestage", a.forbidden_apis) == [], root


def test_scan_of_the_reference_and_stub_is_clean():
    a = find_assignment("transformers")
    assert "torch.nn.functional.scaled_dot_product_attention" in a.forbidden_apis
    for root in (ROOT / "reference" / "transformers", ROOT / "assignments" / "transformers"):
        assert forbidden_api_uses(root / "transformers", a.forbidden_apis) == [], root


def test_pack_warns_but_writes_the_zip(tmp_path, capsys):
    sub = tmp_path / "student"
    (sub / "pkg").mkdir(parents=True)
    (sub / "pkg" / "__init__.py").write_text("from torch.nn import functional as Q\n"
                                             "f = Q.scaled_dot_product_attention\n")
    rc = pack_command(sub, tmp_path / "out.zip", package="pkg", forbidden_apis=APIS)
    err = capsys.readouterr().err
    assert rc == 0 and (tmp_path / "out.zip").is_file()
    assert "warning: __init__.py:2: uses 'Q.scaled_dot_product_attention'" in err
    assert "blocks it at run time" in err


def test_manifest_key_is_read_and_validated(tmp_path):
    m = read_manifest(ROOT / "assignments" / "transformers" / "assignment.toml")
    assert "torch.nn.MultiheadAttention" in m["forbidden_apis"]
    folder = tmp_path / "assignments" / "demo"
    folder.mkdir(parents=True)
    for bad in ('["scaled_dot_product_attention"]', '["torch.nn.1bad"]', '"torch.nn.MultiheadAttention"'):
        (folder / "assignment.toml").write_text(
            f'[assignment]\nname = "demo"\npackage = "demo"\nforbidden_apis = {bad}\n'
            '[[task]]\nid = "t"\npoints = 1\n')
        with pytest.raises(ManifestError, match="forbidden_apis"):
            load_manifest(folder / "assignment.toml")


# ------------------------------------------------------------------------------ runtime block
RUNTIME_PROBE = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
import worker  # points fd 1 at stderr, as in the sandbox
import torch
results = {"blocked": worker.block_apis(json.loads(sys.argv[2]))}

def attempt(name, fn):
    try:
        fn()
        results[name] = "ran"
    except worker.ForbiddenAPIError as e:
        results[name] = "blocked: " + str(e)
    except Exception as e:
        results[name] = f"other: {type(e).__name__}: {e}"

q = torch.randn(1, 2, 3, 4)
from torch.nn import functional as Q
import torch.nn.functional as F
attempt("alias", lambda: Q.scaled_dot_product_attention(q, q, q))
attempt("getattr", lambda: getattr(F, "scaled_" + "dot_product_attention")(q, q, q))
attempt("from_import", lambda: __import__("torch.nn.functional", fromlist=["x"]).scaled_dot_product_attention(q, q, q))
attempt("c_binding", lambda: torch._C._nn.scaled_dot_product_attention(q, q, q))
attempt("mha", lambda: torch.nn.MultiheadAttention(4, 2))
attempt("mha_module_path", lambda: torch.nn.modules.activation.MultiheadAttention(4, 2))
def subclass():
    class Mine(torch.nn.MultiheadAttention):
        pass
attempt("mha_subclass", subclass)
attempt("encoder_layer_uses_mha", lambda: torch.nn.TransformerEncoderLayer(8, 2))
attempt("mha_forward_function", lambda: F.multi_head_attention_forward)
results["isinstance_works"] = isinstance(torch.nn.Linear(2, 2), torch.nn.MultiheadAttention)
results["softmax_works"] = bool(torch.allclose(torch.softmax(q, -1).sum(-1), torch.ones(1, 2, 3)))
results["linear_works"] = tuple(torch.nn.Linear(4, 2)(q).shape) == (1, 2, 3, 2)
import protocol  # the worker's own wire format still works
back = protocol.decode(protocol.encode({"x": q, "y": [1, "a"]})[8:])
results["protocol_ok"] = bool(torch.equal(back["x"], q)) and back["y"] == [1, "a"]
sys.stderr.write("RESULT " + json.dumps(results) + "\n")
'''


def test_runtime_block_in_the_worker(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(RUNTIME_PROBE)
    apis = ["torch.nn.functional.scaled_dot_product_attention", "torch.nn.functional.multi_head_attention_forward",
            "torch.nn.MultiheadAttention", "torch._C._nn.scaled_dot_product_attention", "torch.not_there.at_all"]
    import json
    proc = subprocess.run([sys.executable, str(script), str(ROOT / "harness" / "sandbox"), json.dumps(apis)],
                          capture_output=True, text=True, timeout=120)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-2000:]
    r = json.loads(line[len("RESULT "):])
    assert r["blocked"] == apis[:4], "a name that does not exist is skipped, the others are blocked"
    for key in ("alias", "getattr", "from_import", "c_binding", "mha", "mha_module_path", "mha_subclass",
                "encoder_layer_uses_mha"):
        assert r[key].startswith("blocked: "), f"{key}: {r[key]}"
    assert "torch.nn.functional.scaled_dot_product_attention is not allowed in this assignment" in r["alias"]
    assert "torch.nn.MultiheadAttention is not allowed" in r["mha"]
    assert r["mha_forward_function"] == "ran"  # fetching is fine; calling it is blocked (it is a blocker)
    assert r["isinstance_works"] is False and r["softmax_works"] and r["linear_works"] and r["protocol_ok"]


# ------------------------------------------------------------------------------ grading
CHEAT = '''
# --- a submission that calls SDPA through an alias and a getattr string ---
import torch as _t
from torch.nn import functional as _Q

_CAPTURED = _Q.scaled_dot_product_attention  # captured at import: already the blocker


def attention(query, key, value, attn_mask=None, is_causal=False, scale=None):
    fn = getattr(_t.nn.functional, "scaled_" + "dot_product_attention")
    return fn(query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale)


def attention_weights(query, key, attn_mask=None, is_causal=False, scale=None):
    return _CAPTURED(query, key, key, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
'''


@needs_bwrap
def test_grading_blocks_and_reports_the_cheat(tmp_path):
    from harness.grading.grade import Grader
    from harness.sandbox import LocalSandbox
    from harness.submissions import SubmissionSource
    from tests.conftest import write_package

    a = find_assignment("transformers")
    base = ROOT / "reference" / "transformers" / "transformers"
    files = {"transformers/__init__.py": (base / "__init__.py").read_text() + CHEAT}
    sub = write_package(tmp_path / "cheater", files, base=base)
    sandbox = LocalSandbox(limits=a.limits)
    grader = Grader(a, sandbox=sandbox)
    try:
        grader.only_tasks = {"attention"}
        grader.speed_enabled = False
        r = grader.grade(SubmissionSource("cheater", sub))
    finally:
        grader.close()
        sandbox.close()
    task = next(t for t in r.tasks if t.id == "attention")
    assert task.score < 0.2 * task.points, [(c.name, c.passed) for c in task.checks]
    messages = " ".join(c.message for c in task.checks)
    assert "scaled_dot_product_attention is not allowed in this assignment" in messages
    warnings = "\n".join(r.warnings)
    assert "_Q.scaled_dot_product_attention" in warnings and "in a string" in warnings, warnings
