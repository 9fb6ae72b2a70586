"""The benchmark scripts still run (tiny sizes; no timing is asserted, only agreement)."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_benchmark_quick(capsys):
    linear = _load("linear")
    assert linear.main(["--quick", "--no-write", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "numba CSR vs pyamg CSR" in out and "unisolve cg vs scipy cg" in out


def test_sweep_kernels_agree_in_the_benchmark_setting():
    import unisolve as us

    linear = _load("linear")
    res = linear.bench_sweeps(us.problems.poisson2d(40, rhs="random"), repeats=2)
    assert res["agree"] < 1e-12
    assert set(res["times"]) == {"numba CSR", "pyamg CSR", "red-black stencil"}


def test_omega_benchmark_quick(capsys):
    """Both experiments at smoke size; the script itself asserts online == table costs."""
    omega = _load("omega")
    assert omega.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "Online = table check" in out and "best fixed grid ω in hindsight" in out
    assert "SSOR-PCG auto (context κ)" in out and "| CG | " in out


def test_dcdm_benchmark_quick(capsys):
    """Smoke size with a model trained in the script: tables printed, every peer converges.

    main() returns 1 when a classical peer fails; a tiny DCDM model may stall (a result the
    table reports), so DCDM's own convergence is not asserted here.
    """
    dcdm = _load("dcdm")
    assert dcdm.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "| 24² |" in out and "| 32² |" in out
    assert all(name in out for name in ("CG", "IC(0)-PCG", "SSOR-PCG", "AMG-PCG", "DCDM"))
    assert "DCDM its / CG its at 32²" in out and "iteration growth its(32²) / its(24²)" in out
    assert "of its time is the network" in out and "model training: 6 epochs" in out
    for line in out.splitlines():  # per-layout lines: only DCDM may be marked not converged
        if "NOT CONVERGED" in line:
            assert line.count("NOT CONVERGED") == 1 and line.rstrip().endswith(")")
            assert line.index("NOT CONVERGED") > line.index("DCDM")


def test_dcdm_benchmark_3d_with_the_shipped_3d_model(capsys):
    dcdm = _load("dcdm")
    args = ["--dim", "3", "--sizes", "8", "10", "--layouts", "1", "--repeats", "1", "--no-write"]
    assert dcdm.main(args) == 0
    out = capsys.readouterr().out
    assert "unseen 3D obstacle layouts" in out and "| 8³ |" in out and "| 10³ |" in out
    assert "dcdm3d_ml.pt" in out and "NOT CONVERGED" not in out  # the 3D default (issue 28)
    import unisolve.learned

    pooled = Path(unisolve.learned.__file__).parent / "weights" / "dcdm3d_32.pt"
    args += ["--model", str(pooled)]  # the pooled 3D model
    assert dcdm.main(args) == 0
    out = capsys.readouterr().out
    assert "dcdm3d_32.pt" in out and "NOT CONVERGED" not in out


def test_train_dcdm_script_records_its_stages(tmp_path, capsys):
    train = _load("train_dcdm")
    from unisolve.learned.dcdm import DCDM

    tiny = ["--n", "10", "--layouts", "2", "--samples", "20", "--m", "20", "--blocks", "0", "1",
            "0"]
    assert train.main([*tiny, "--epochs", "2", "--lr-final", "1e-4",
                       "--out", str(tmp_path / "a.pt")]) == 0
    first = DCDM.load(tmp_path / "a.pt")
    assert first.meta["training"]["epochs"] == 2
    assert first.meta["training"]["lr_decay"] == 0.1  # 1e-3 -> 1e-4 over the 2 epochs
    # continue from it on a time budget: one timed epoch, then as many as fit (>= 1)
    assert train.main([*tiny, "--budget", "1", "--init", str(tmp_path / "a.pt"),
                       "--out", str(tmp_path / "b.pt")]) == 0
    second = DCDM.load(tmp_path / "b.pt")
    assert second.meta["training"]["epochs"] >= 2 and "budget" in second.meta
    (stage,) = second.meta["lineage"]
    assert stage["command"] == first.meta["training"]["command"]
    assert "--budget 1 --init" in second.meta["training"]["command"]
    assert "trained" in capsys.readouterr().out


def test_constrained_benchmark_quick(capsys):
    """Five test problems, PDE N = 3, 4 and a small logistic problem, every method run."""
    constrained = _load("constrained")
    assert constrained.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    for label in ("sketch-newton RK", "sketch-newton Gauss", "newton-kkt", "trust-constr",
                  "SLSQP"):
        assert f"| {label} | 5/5 (100 %) |" in out, label
    assert "PDE N=3: sketch CONVERGED" not in out  # 20 outer iterations are too few at N = 3
    assert "| 3 | 27 |" in out and "| 4 | 48 |" in out


def test_constrained_benchmark_kkt_measure_is_the_problems_own_at_a_kkt_point():
    """The scipy columns use least-squares multipliers: zero at a KKT point, and never
    more than the residual with any other λ."""
    import numpy as np

    from unisolve.problems import pde_constrained

    constrained = _load("constrained")
    p = pde_constrained(4)
    assert constrained.kkt_of_point(p, p.x_star) < 1e-10
    ls = constrained.kkt_of_point(p, p.x0)
    assert np.linalg.norm(p.c(p.x0)) < ls < p.kkt_residual(p.x0, p.lam0)


def test_constrained_benchmark_pde_only(capsys):
    constrained = _load("constrained")
    assert constrained.main(["--pde-only", "3", "--pde-maxiter", "150"]) == 0
    out = capsys.readouterr().out
    # 41 outer iterations with seed 0 here (BENCHMARKS.md); the count may move with the CPU's
    # rounding over 4M Kaczmarz steps, so only convergence is asserted
    assert "N=3: CONVERGED after" in out and "| 3 | 27 | converged," in out


def test_bcd_benchmark_quick(capsys):
    """Every problem A–E at smoke size; the tree blocks must solve the lattice exactly."""
    bcd = _load("bcd")
    assert bcd.main(["--quick", "--maxiter", "300"]) == 0
    out = capsys.readouterr().out
    for name in ("A: least squares", "A-L1", "B: logistic", "C: softmax", "D: lattice",
                 "E: two moons"):
        assert name in out, name
    assert "| scipy L-BFGS-B |" in out and "Fastest BCD to 1e-4" in out
    assert "| target | wanted | measured |" in out
    assert out.count("fewer iterations |") == 5  # greedy on A, B, D; trees on D, E
    lattice = out[out.index("D: lattice"):out.index("E: two moons")]
    assert "| red-black blocks (message passing), GSL | " in lattice
    assert "> 300" not in lattice.split("forest blocks (message passing), GSL")[1].split("\n")[0]


def test_halpern_benchmark_quick(capsys):
    """Both problems at smoke size, every method, the tuning log and the verdict rows."""
    halpern = _load("halpern")
    assert halpern.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for name in ("policeman-burglar-30", "constrained-qp-20"):
        assert f"#### {name}" in out
        for label in ("| EG |", "| EAG |", "| VR-EG |", "| Halpern (resolvent) |",
                      "| VR-Halpern, Algorithm 1 |", "| VR-Halpern, Algorithm 2 |"):
            assert label in out[out.index(f"#### {name}"):], (name, label)
    assert out.count("needs fewer epochs than EG and EAG") == 6
    assert out.count("At the paper's code's own steps") == 2
    assert out.count("does not stall above the target within") == 4


def test_halpern_benchmark_game_grid_applies_to_every_method(capsys):
    """--game-grid replaces the game's step multiples for every method alike (the tuning
    log lists each multiple on each row); --problems game leaves the QP out."""
    halpern = _load("halpern")
    assert halpern.main(["--quick", "--problems", "game", "--game-grid", "1,64",
                         "--only", "eg,vr-eg,alg1-r"]) == 0
    out = capsys.readouterr().out
    assert "#### policeman-burglar-30" in out and "constrained-qp" not in out
    rows = [line for line in out.splitlines() if line.startswith(("| EG |", "| VR-EG |",
                                                                 "| VR-Halpern 1, restarted |"))
            and "×1:" in line]
    assert len(rows) == 3 and all("×64:" in r and "×16:" not in r for r in rows), rows
    for bad in ("0,4", "a,4", ""):
        with pytest.raises(SystemExit):
            halpern.main(["--quick", "--game-grid", bad])
    with pytest.raises(SystemExit):
        halpern.main(["--quick", "--problems", "lp"])


def test_halpern_benchmark_plateau_rule():
    halpern = _load("halpern")
    ep = np.arange(0, 5001, 10.0)
    falling = {"epochs": ep, "res": 1.0 / (ep + 10), "to_target": None}
    flat = {"epochs": ep, "res": np.where(ep < 2000, 1.0 / (ep + 10), 1.0 / 2010),
            "to_target": None}
    assert halpern.no_plateau(falling)[0] and not halpern.no_plateau(flat)[0]
    reached = dict(flat, to_target=4500.0)  # reaching the target in the window is enough
    assert halpern.no_plateau(reached)[0]
    assert not halpern.no_plateau(dict(flat, to_target=6000.0))[0]


def test_pinn_benchmark_quick(capsys):
    """Tiny budget: both tables and the wide-PINN control are printed (targets need the
    full budget, so --quick does not assert them)."""
    pinn = _load("pinn")
    assert pinn.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "convection c=30 pinn width 58" in out and "Training budget per run" in out
    assert "| 30 |" in out and "LPINN ≤ 5e-2" in out


def test_operators_benchmark_quick(capsys):
    """Tiny setting: the table, the residual of the truth and the target line are printed
    (the targets need the full setting, so --quick does not assert them)."""
    ops = _load("operators")
    assert ops.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "| ST-FNO + Spectral-Refiner |" in out and "(truth frames)" in out
    assert "refiner lowers the relative L² error by ≥ 30 %" in out


def test_stagger_benchmark_quick(capsys):
    """Tiny setting: every decomposition's row, the classical row and the target lines are
    printed (the targets need the full setting, so --quick does not assert them)."""
    stag = _load("stagger")
    assert stag.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("| (1,1,1) |", "| (2,2,1) |", "| (2,2,1) shared |", "| (2,2,2) |",
                "| (4,4,1) |", "| classical mac-cn"):
        assert row in out
    assert "(2,2,1) vs (1,1,1), turbulence 16²" in out and "cylinder 16×32" in out
    # issue 29: per unit of simulated time against mac-cn's settings, per call, cylinder
    for row in ("| mac-cn (default: tol 1e-11) |", "| mac-cn, 2 Picard sweeps, 2Δt |",
                "| (2,2,2) shared + Euler tendency | 0.04 | 5 |",
                "| (2,2,2) shared Euler step alone (no network) | 0.04 | 5 |",
                "| (2,2,5) shared + RK3 tendency | 0.1 | 2 |",
                "| mac-cn (default: tol 1e-11; the reference) |"):
        assert row in out
    assert "time per network call at 16²" in out and "Strouhal" in out
    # the cylinder table has mac-cn's cheaper settings too (the per-unit-time table has them
    # once): the best classical peer of the shedding case is measured in the same run
    for row in ("| mac-cn, 2Δt |", "| mac-cn, tol 1e-4 |", "| mac-cn, 2 Picard sweeps |"):
        assert out.count(row) == 2


def test_stagger_time_table_marks_finite_blow_ups():
    """A classical setting whose mean error over the tests is astronomically large but
    finite (one trajectory blew up without overflowing, as on the 2026-12-04 GPU host) is
    shown as diverged and never chosen as the fastest accurate peer."""
    stag = _load("stagger")

    def row(label, err, unit, status="MAX_ITER"):
        return {"label": label, "kind": "classical", "dt": 0.02, "calls": 50, "s_t": 1,
                "unit1": unit, "unitk": None, "err": err, "status": status}

    case = {"rows": [row("default", 0.0, 1.0, "CONVERGED"), row("cheap", 2.1e100, 0.1),
                     row("2 sweeps", 1e-3, 0.2), row("nan", float("nan"), 0.05, "NONFINITE")],
            "tests": 4, "horizon": 1.0}
    tab, _ = stag.time_table(case)
    assert "| cheap | 0.02 | 50 | diverged (mean error 2.1e+100) |" in tab
    assert "| nan | 0.02 | 50 | diverged (NONFINITE) |" in tab
    assert "| 2 sweeps | 0.02 | 50 | 0.001 | 0.200 | 5.00 | 1.00 |" in tab


def test_stagger_gpu_benchmark_smoke(capsys):
    """benchmarks/stagger_gpu.py on the CPU at smoke size (its GPU rows need CUDA): every
    setting's step row, the device check (CPU against CPU: exactly 0) and the per-unit-time
    table with untrained models."""
    pytest.importorskip("torch")
    bench = _load("stagger_gpu")
    assert bench.main(["--device", "cpu", "--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("| 16² | (1,1,1) | 1 × 32 | 1 |", "| 32² | (4,4,1) | 16 × 8 | 8 |",
                "| 16² | (2,2,1) shared | 1 × 16 | 8 |", "| mac-cn, 2 Picard sweeps |",
                "| (2,2,5) shared RK3 step alone (no network, cpu) | 0.1 | 2 |"):
        assert row in out
    assert out.count("= 0.0e+00 (float32, TF32 convolutions), 0.0e+00 (float64)") == 4
    assert "(2,2,1) vs (1,1,1), 32², batch 8: eager" in out


def test_stagger_per_unit_time_accounting():
    """seconds / (calls · s_T · Δt): a strided (s_T = 4) rollout of 2 calls of 0.1 s at
    Δt = 0.02 costs 0.2 s for 0.16 time units; the classical 8 steps of 0.025 s likewise."""
    stag = _load("stagger")
    assert stag.per_unit_time(0.2, 2, 4, 0.02) == pytest.approx(1.25)
    assert stag.per_unit_time(8 * 0.025, 8, 1, 0.02) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        stag.per_unit_time(1.0, 0, 1, 0.02)


def test_petsc_benchmark_quick(capsys):
    """Tiny setting: every comparison row, the heat table and the MPI table are printed, and
    the SOR iterates of both sides agree (the timing targets need the full sizes)."""
    import pytest

    pytest.importorskip("petsc4py.PETSc", reason="petsc4py is not installed: `make petsc`")
    bench = _load("petsc")
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for row in ("numba CSR vs richardson+sor", "cg vs KSPCG", "ssor-pcg vs KSPCG+SSOR",
                "petsc-cg vs KSPCG", "**BanditSOR auto**"):
        assert row in out
    agree = [float(v) for v in re.findall(r"sweeps agree to ([0-9.e+-]+\d)", out)]
    assert len(agree) >= 2 and max(agree) < 1e-12


def test_sequences_benchmark_quick(capsys):
    """Issue 24's benchmark at smoke size: every part runs, every configuration converges
    (main() returns 1 otherwise), and the tables name the targets."""
    sequences = _load("sequences")
    assert sequences.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "SSOR-PCG" in out and "pyamg" in out.lower()
    assert "| auto |" in out and "best single configuration in hindsight" in out
    assert "AMG-PCG `reuse=\"auto\"` / rebuilding every step" in out
    assert "best fixed" in out


def test_nonsymmetric_benchmark_quick(capsys):
    """Issue 25's benchmark at smoke size: ours, scipy and PETSc (when present) on the same
    convection–diffusion systems; every solve of ours reaches rtol (main() returns 1
    otherwise); the learned-ω rows for GMRES + SOR / SSOR are there."""
    bench = _load("nonsymmetric")
    assert bench.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "### (a) With ILU(0)" in out and "### (b) No preconditioner" in out
    assert out.count("| gmres |") >= 8 and out.count("| bicgstab |") >= 8
    assert '| ssor | ω = "auto" (learned)' in out and '| sor | ω = "auto" (learned)' in out


def test_hardening_benchmark_quick(capsys):
    """Issue 26's benchmark at smoke size: the safe norm agrees with sqrt(dot) on normal
    data, and no method claims CONVERGED on the out-of-range systems with a true residual
    above rtol (main() returns 1 otherwise)."""
    bench = _load("hardening")
    assert bench.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "### (a) the safe norm" in out and "False CONVERGED claims: 0" in out
    assert out.count("CONVERGED") >= 6 * 5



def test_lasso_benchmark_quick(capsys):
    """Issue 27's LASSO benchmark at smoke size: every greedy rule reaches the best objective
    to 1e-8 (main() returns 1 otherwise) beside scikit-learn's Lasso."""
    bench = _load("lasso")
    assert bench.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert out.count("| bcd gs-") >= 3 and "sklearn Lasso tol=1e-12" in out


def test_games_benchmark_quick(capsys):
    """Issue 27's game benchmark at smoke size: the default (no method) reaches duality gap
    1e-6 on every small game, where the old default (vr-halpern Algorithm 1) does not;
    linprog (HiGHS) is timed beside it."""
    bench = _load("games")
    assert bench.main(["--quick", "--no-write"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines()
            if line.startswith("| ") and "epochs to" not in line and "---" not in line]
    assert len(rows) >= 4
    for row in rows:
        assert row[1] == "eag + line search + restart 0.1" and row[2] != "—", row  # reached
        assert float(row[4]) > 0 and float(row[5]) > 0 and float(row[6]) > 0, row  # timed
        assert row[10] == "—", row  # the old default: not reached within 20k epochs


@pytest.mark.usefixtures("one_torch_thread")
def test_stagger_flops_benchmark_quick(capsys):
    """benchmarks/stagger_flops.py at smoke size: every setting's row and the target line
    are printed, and the FLOP count of the fine 16² network is the closed form."""
    st = pytest.importorskip("unisolve.learned.stagger")
    bench = _load("stagger_flops")
    assert bench.main(["--quick", "--threads", "1", "--batches", "8", "--timer", "cpu"]) == 0
    out = capsys.readouterr().out
    for row in ("| (1,1,1) | 1 × 32 |", "| (2,2,1) | 4 × 16 |", "| (2,2,1) shared | 1 × 16 |",
                "| (4,4,1) | 16 × 8 |"):
        assert row in out
    assert "(2,2,1) vs (1,1,1), 32², batch 8, 1 thread(s)" in out
    # 16²: levels 1 → lift 5→32 (3×3), layers of dilation 1, 2, 1 (32→32, 3×3), out 32→2 (1×1)
    net = st.StaggerNet(5, 2, 32, st._levels(16, 16), 1)
    want = 2 * 256 * (5 * 32 * 9 + 3 * 32 * 32 * 9 + 32 * 2)
    assert st._levels(16, 16) == 1 and bench.net_flops(net, 1, 16, 16) == want


@pytest.mark.usefixtures("one_torch_thread")
def test_dcdm_safeguard_benchmark_quick(capsys):
    """benchmarks/dcdm_safeguard.py at smoke size: every variant converges within CG's count."""
    bench = _load("dcdm_safeguard")
    assert bench.main(["--sizes", "12", "--layouts", "1", "--repeats", "1", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "ML + jacobi" in out and "met everywhere" in out and "not converged" not in out
