"""Hidden tests of the grid (HMM) filter and the particle filter [bayes].

Oracles: float64 loops written here, brute-force enumeration of every state path on small grids
(the exact filtering distribution and evidence), and distribution tests of the seeded draws.
"""

import itertools
import math

import pytest
import torch

from harness.testkit import assert_tensor, devices


def g(seed):
    return torch.Generator().manual_seed(seed)


def random_transition(s, seed):
    """A non-symmetric row-stochastic matrix (a transposed product would differ)."""
    m = torch.rand(s, s, generator=g(seed), dtype=torch.float64) ** 3 + 0.01
    return m / m.sum(1, keepdim=True)


def grid_oracle(h, w, sigma):
    s = h * w
    out = torch.zeros(s, s, dtype=torch.float64)
    for i in range(s):
        for j in range(s):
            ri, ci, rj, cj = i // w, i % w, j // w, j % w
            out[i, j] = math.exp(-((ri - rj) ** 2 + (ci - cj) ** 2) / (2 * sigma ** 2))
        out[i] /= out[i].sum()
    return out


def forward_oracle(initial, trans, liks):
    """The recursion in float64 with explicit loops."""
    s = initial.shape[0]
    belief = initial.double().tolist()
    beliefs, log_z = [], 0.0
    for t in range(liks.shape[0]):
        if t > 0:
            belief = [sum(belief[i] * float(trans[i, j]) for i in range(s)) for j in range(s)]
        joint = [belief[j] * float(liks[t, j]) for j in range(s)]
        c = sum(joint)
        belief = [x / c for x in joint]
        beliefs.append(belief)
        log_z += math.log(c)
    return torch.tensor(beliefs, dtype=torch.float64).reshape(liks.shape[0], s), log_z


def brute_force(initial, trans, liks):
    """p(x_t | z_0..t) and log p(z_0..T-1) by summing over every path (exact, float64)."""
    s, n = initial.shape[0], liks.shape[0]
    beliefs = []
    for t in range(n):
        post = torch.zeros(s, dtype=torch.float64)
        for path in itertools.product(range(s), repeat=t + 1):
            p = float(initial[path[0]]) * float(liks[0, path[0]])
            for k in range(1, t + 1):
                p *= float(trans[path[k - 1], path[k]]) * float(liks[k, path[k]])
            post[path[-1]] += p
        beliefs.append(post / post.sum())
        if t == n - 1:
            log_z = math.log(float(post.sum()))
    return torch.stack(beliefs), log_z


# ------------------------------------------------------------------------------- grid_transition
@pytest.mark.task("bayes")
@pytest.mark.parametrize("h, w, sigma", [(1, 1, 1.0), (3, 4, 0.7), (5, 5, 2.0), (2, 6, 1.3)])
def test_grid_transition_matches_a_loop(student, h, w, sigma):
    assert_tensor(student.grid_transition(h, w, sigma), grid_oracle(h, w, sigma), atol=1e-12, rtol=1e-10,
                  case=f"{h} x {w}, sigma {sigma}")


@pytest.mark.task("bayes")
def test_grid_transition_dtype_and_rows(student):
    got = student.grid_transition(3, 3, 1.0, dtype=torch.float32)
    assert_tensor(got, grid_oracle(3, 3, 1.0).float(), atol=1e-6, case="float32")
    assert_tensor(got.sum(1), torch.ones(9), atol=1e-6, case="rows sum to 1")


@pytest.mark.task("bayes")
def test_grid_transition_rejects_bad_arguments(student):
    with pytest.raises(ValueError, match="sigma"):
        student.grid_transition(3, 3, 0.0)
    with pytest.raises(ValueError, match="height|width"):
        student.grid_transition(0, 3, 1.0)


# ------------------------------------------------------------------------------- predict / update
@pytest.mark.task("bayes")
@pytest.mark.parametrize("s", [1, 5, 12])
def test_hmm_predict_matches_a_loop(student, s):
    belief = torch.rand(s, generator=g(s), dtype=torch.float64)
    belief /= belief.sum()
    trans = random_transition(s, s + 1)
    expected = torch.tensor([sum(float(belief[i] * trans[i, j]) for i in range(s)) for j in range(s)],
                            dtype=torch.float64)
    assert_tensor(student.hmm_predict(belief, trans), expected, atol=1e-12, case=f"S={s}")


@pytest.mark.task("bayes")
def test_hmm_predict_promotes_dtypes(student):
    belief = torch.tensor([0.2, 0.8], dtype=torch.float32)
    trans = torch.tensor([[0.9, 0.1], [0.3, 0.7]], dtype=torch.float64)
    assert_tensor(student.hmm_predict(belief, trans), torch.tensor([0.42, 0.58], dtype=torch.float64),
                  atol=1e-7, case="float32 belief, float64 transition")
    with pytest.raises(ValueError):
        student.hmm_predict(torch.ones(3) / 3, torch.eye(2))


@pytest.mark.task("bayes")
def test_hmm_update_matches_bayes_rule(student):
    prior = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    lik = torch.tensor([0.5, 0.0, 2.0, 0.25], dtype=torch.float64)
    post, c = student.hmm_update(prior, lik)
    joint = prior * lik
    assert_tensor(post, joint / joint.sum(), atol=1e-15, case="posterior")
    assert_tensor(c, joint.sum(), atol=1e-15, case="evidence")


@pytest.mark.task("bayes")
def test_hmm_update_float32(student):
    prior = torch.tensor([0.25, 0.75])
    lik = torch.tensor([3.0, 1.0])
    post, c = student.hmm_update(prior, lik)
    assert_tensor(post, torch.tensor([0.5, 0.5]), atol=1e-7, case="float32 posterior")
    assert_tensor(c, torch.tensor(1.5), atol=1e-6, case="float32 evidence")


@pytest.mark.task("bayes")
def test_hmm_update_rejects_an_impossible_observation(student):
    with pytest.raises(ValueError, match="evidence|impossible|likelihood|prior"):
        student.hmm_update(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError):
        student.hmm_update(torch.ones(3), torch.ones(4))


# ------------------------------------------------------------------------------- forward filter
@pytest.mark.task("bayes")
@pytest.mark.parametrize("s, t, seed", [(2, 4, 0), (3, 4, 1), (4, 3, 2)])
def test_hmm_forward_equals_brute_force(student, s, t, seed):
    initial = torch.rand(s, generator=g(seed), dtype=torch.float64) + 0.1
    initial /= initial.sum()
    trans = random_transition(s, seed + 10)
    liks = torch.rand(t, s, generator=g(seed + 20), dtype=torch.float64) + 0.05
    beliefs, log_z = student.hmm_forward(initial, trans, liks)
    exp_b, exp_z = brute_force(initial, trans, liks)
    assert_tensor(beliefs, exp_b, atol=1e-12, case=f"S={s}, T={t}: beliefs")
    assert_tensor(log_z, torch.tensor(exp_z, dtype=torch.float64), atol=1e-10, case=f"S={s}, T={t}: log evidence")


@pytest.mark.task("bayes")
@pytest.mark.parametrize("device", devices())
def test_hmm_forward_on_a_grid(student, device):
    trans = grid_oracle(3, 4, 1.1)
    gen = g(5)
    liks = torch.rand(9, 12, generator=gen, dtype=torch.float64) ** 4 + 1e-3
    initial = torch.zeros(12, dtype=torch.float64)
    initial[5] = 1.0
    beliefs, log_z = student.hmm_forward(initial.to(device), trans.to(device), liks.to(device))
    exp_b, exp_z = forward_oracle(initial, trans, liks)
    assert_tensor(beliefs, exp_b.to(device), atol=1e-12, case="3 x 4 grid, 9 frames")
    assert_tensor(log_z, torch.tensor(exp_z, dtype=torch.float64, device=device), atol=1e-10, case="log evidence")


@pytest.mark.task("bayes")
def test_hmm_forward_float32_and_empty(student):
    trans = grid_oracle(2, 2, 1.0).float()
    liks = torch.tensor([[1.0, 0.5, 0.25, 0.1], [0.2, 0.2, 1.0, 1.0]])
    initial = torch.full((4,), 0.25)
    beliefs, log_z = student.hmm_forward(initial, trans, liks)
    exp_b, exp_z = forward_oracle(initial, trans, liks)
    assert_tensor(beliefs, exp_b.float(), atol=1e-6, case="float32 beliefs")
    assert_tensor(log_z, torch.tensor(exp_z, dtype=torch.float32), atol=1e-5, case="float32 log evidence")
    b0, z0 = student.hmm_forward(initial, trans, torch.zeros(0, 4))
    assert_tensor(b0, torch.zeros(0, 4), case="T = 0 beliefs")
    assert_tensor(z0, torch.tensor(0.0), case="T = 0 log evidence")


@pytest.mark.task("bayes")
def test_hmm_forward_rejects_mismatched_shapes(student):
    with pytest.raises(ValueError):
        student.hmm_forward(torch.ones(3) / 3, torch.eye(3), torch.ones(2, 4))


# ------------------------------------------------------------------------------- particles
@pytest.mark.task("bayes")
def test_propagate_with_injected_noise(student):
    particles = torch.tensor([[1.0, 2.0, 0.0], [3.0, -1.0, 0.5]], dtype=torch.float64)
    noise = torch.tensor([[0.5, -1.0, 2.0], [0.0, 1.5, -0.5]], dtype=torch.float64)
    std = torch.tensor([2.0, 0.5, 0.1], dtype=torch.float64)
    assert_tensor(student.propagate_particles(particles, std, noise=noise), particles + std * noise, atol=1e-15,
                  case="per-dimension std")
    assert_tensor(student.propagate_particles(particles, 3.0, noise=noise), particles + 3.0 * noise, atol=1e-15,
                  case="scalar std")


@pytest.mark.task("bayes")
def test_propagate_with_a_generator(student):
    particles = torch.zeros(4000, 2)
    got = student.propagate_particles(particles, torch.tensor([1.0, 3.0]), seed=3)
    expected = torch.randn(4000, 2, generator=g(3)) * torch.tensor([1.0, 3.0])
    assert_tensor(got, expected, atol=1e-6, case="draws torch.randn(N, D, generator=generator)")
    std = got.std(0)
    assert abs(float(std[0]) - 1.0) < 0.06 and abs(float(std[1]) - 3.0) < 0.18, f"sample std {std.tolist()}"


@pytest.mark.task("bayes")
def test_propagate_rejects_bad_noise(student):
    with pytest.raises(ValueError):
        student.propagate_particles(torch.zeros(3, 2), 1.0, noise=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="std"):
        student.propagate_particles(torch.zeros(3, 2), -1.0, noise=torch.zeros(3, 2))


@pytest.mark.task("bayes")
@pytest.mark.parametrize("offset", [0.0, -1000.0, 800.0])
def test_reweight_is_stable(student, offset):
    w = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    ll = torch.tensor([-1.0, 0.5, -3.0, 0.0], dtype=torch.float64)
    expected = w * torch.exp(ll)
    expected /= expected.sum()
    assert_tensor(student.reweight(w, ll + offset), expected, atol=1e-12, case=f"log-likelihoods + {offset}")


@pytest.mark.task("bayes")
def test_reweight_unnormalised_and_impossible(student):
    w = torch.tensor([2.0, 0.0, 6.0])
    ll = torch.tensor([0.0, 5.0, -float("inf")])
    assert_tensor(student.reweight(w, ll), torch.tensor([1.0, 0.0, 0.0]), atol=1e-7, case="zeros and -inf")
    with pytest.raises(ValueError):
        student.reweight(torch.tensor([1.0, 0.0]), torch.tensor([-float("inf"), 0.0]))


@pytest.mark.task("bayes")
def test_effective_sample_size(student):
    assert_tensor(student.effective_sample_size(torch.full((8,), 0.125, dtype=torch.float64)),
                  torch.tensor(8.0, dtype=torch.float64), atol=1e-12, case="uniform")
    assert_tensor(student.effective_sample_size(torch.tensor([0.0, 1.0, 0.0])), torch.tensor(1.0), atol=1e-6,
                  case="one particle")
    w = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert_tensor(student.effective_sample_size(w * 7.5), torch.tensor(100.0 / 30.0, dtype=torch.float64),
                  atol=1e-12, case="unnormalised: (sum w)^2 / sum w^2")
    with pytest.raises(ValueError):
        student.effective_sample_size(torch.zeros(3))


def resample_oracle(weights, u):
    w = [float(x) for x in weights.double()]
    total, n = sum(w), len(w)
    cdf, acc = [], 0.0
    for x in w:
        acc += x
        cdf.append(acc / total)
    out = []
    for k in range(n):
        p = (u + k) / n
        i = 0
        while i < n - 1 and not p < cdf[i]:
            i += 1
        out.append(i)
    return torch.tensor(out, dtype=torch.int64)


@pytest.mark.task("bayes")
@pytest.mark.parametrize("u", [0.0, 0.3, 0.999])
def test_systematic_resample_exact(student, u):
    w = torch.rand(50, generator=g(7), dtype=torch.float64) ** 3
    w[10] = 0.0
    got = student.systematic_resample(w, u=u)
    assert_tensor(got, resample_oracle(w, u), case=f"u = {u}")
    assert 10 not in got.tolist(), "a particle of weight 0 was drawn"


@pytest.mark.task("bayes")
def test_systematic_resample_positions_on_boundaries(student):
    # positions 0, 1/4, 1/2, 3/4 fall exactly on the cumulative sums: right=True picks each once
    got = student.systematic_resample(torch.full((4,), 0.25), u=0.0)
    assert_tensor(got, torch.tensor([0, 1, 2, 3]), case="equal weights, u = 0")


@pytest.mark.task("bayes")
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_systematic_resample_counts_within_floor_and_ceil(student, seed):
    n = 64
    w = torch.rand(n, generator=g(seed), dtype=torch.float64) ** 4
    u = float(torch.rand((), generator=g(100 + seed), dtype=torch.float64))
    idx = student.systematic_resample(w.float(), u=u)
    assert type(idx) is torch.Tensor and idx.dtype == torch.int64 and tuple(idx.shape) == (n,), \
        "expected int64 Tensor[N]"
    counts = torch.bincount(idx, minlength=n).double()
    expected = n * w / w.sum()
    assert bool((counts >= torch.floor(expected) - 1e-9).all() & (counts <= torch.ceil(expected) + 1e-9).all()), \
        f"counts outside [floor(N w), ceil(N w)]: {counts.tolist()} vs {expected.tolist()}"
    assert bool((idx[1:] >= idx[:-1]).all()), "indices must be non-decreasing"


@pytest.mark.task("bayes")
def test_systematic_resample_with_a_generator_is_unbiased(student):
    w = torch.tensor([0.05, 0.35, 0.1, 0.5], dtype=torch.float64)
    first = student.systematic_resample(w, seed=11)
    u0 = float(torch.rand((), generator=g(11), dtype=torch.float64))
    assert_tensor(first, resample_oracle(w, u0),
                  case="u = torch.rand((), generator=Generator().manual_seed(seed), dtype=float64)")
    total = torch.zeros(4, dtype=torch.float64)
    reps = 400
    for r in range(reps):
        idx = student.systematic_resample(w, u=(r + 0.5) / reps)
        total += torch.bincount(idx, minlength=4).double()
    assert_tensor(total / reps, 4 * w, atol=0.02, case="mean counts over u equal N w")


@pytest.mark.task("bayes")
def test_systematic_resample_rejects_bad_input(student):
    with pytest.raises(ValueError, match="u"):
        student.systematic_resample(torch.ones(3), u=1.0)
    with pytest.raises(ValueError):
        student.systematic_resample(torch.tensor([1.0, -0.5]), u=0.5)
    # "empty, negative or all-zero weights": no weight is negative here, but none is positive
    for w in (torch.zeros(3), torch.zeros(0)):
        with pytest.raises(ValueError):
            student.systematic_resample(w, u=0.5)


@pytest.mark.task("bayes")
def test_resample_if_needed_threshold_is_strict(student):
    particles = torch.arange(8, dtype=torch.float64).reshape(4, 2)
    w = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)  # ESS = 2 = 0.5 * 4
    p, w2, done = student.resample_if_needed(particles, w, threshold=0.5, u=0.1)
    assert done is False, "ESS equal to threshold * N must not resample"
    assert_tensor(p, particles, case="unchanged particles")
    assert_tensor(w2, w, atol=1e-15, case="unchanged weights")
    p, w2, done = student.resample_if_needed(particles, w * 3, threshold=0.6, u=0.1)
    assert done is True, "ESS 2 < 0.6 * 4 must resample"
    assert_tensor(p, particles[torch.tensor([0, 0, 1, 1])], case="resampled particles")
    assert_tensor(w2, torch.full((4,), 0.25, dtype=torch.float64), atol=1e-15, case="uniform weights")


@pytest.mark.task("bayes")
def test_resample_if_needed_normalises_when_kept(student):
    particles = torch.zeros(3, 1)
    p, w2, done = student.resample_if_needed(particles, torch.tensor([2.0, 2.0, 4.0]), threshold=0.3, u=0.5)
    assert done is False
    assert_tensor(w2, torch.tensor([0.25, 0.25, 0.5]), atol=1e-7, case="normalised weights")
    with pytest.raises(ValueError, match="threshold"):
        student.resample_if_needed(particles, torch.ones(3), threshold=1.5)


@pytest.mark.task("bayes")
def test_weighted_mean(student):
    particles = torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, -5.0]], dtype=torch.float64)
    w = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    assert_tensor(student.weighted_mean(particles, w), torch.tensor([2.5, -1.5], dtype=torch.float64), atol=1e-15,
                  case="unnormalised weights")
    with pytest.raises(ValueError):
        student.weighted_mean(particles, torch.ones(2, dtype=torch.float64))
