import subprocess
import sys


def test_import_tdd_is_light():
    heavy = ("torch", "gradio", "streamlit", "timm")
    code = f"import sys, tdd; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_lazy_exports_resolve():
    import tdd

    assert tdd.TDDSampler.__name__ == "TDDSampler"
    assert set(tdd.__all__) <= set(dir(tdd))
