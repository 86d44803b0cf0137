"""paper_figures/check_oracle_dump.py: re-computes every oracle of an `sbo oracle-dump` file with an independent
NumPy float64 implementation and compares it with sbo's numbers.

    check_oracle_dump.py FILE.h5 [--tol T] [--selfcheck] [--kink-band B]

Layout of the dump: docs/SCHEMA.md, "oracle dumps" (writer: runners/oracle_dump.c). Supported: data_cleaning
(task.model = linear | mlp, task.activation = relu | tanh | gelu, task.weights = learned | uniform | clean),
hyper_rep (task.activation = relu | tanh | gelu), vit_reweight (every task.* option: patch, width, depth, heads,
hidden, activation, weights; Fashion-MNIST or CIFAR inputs, float32 or float64) and data_mixture (every task.*
option: context, width, layers, heads, ffn_hidden, ffn = gelu | swiglu, norm = rmsnorm | layernorm, weights =
learned | uniform | target_only, target = validation_mixture or a held-out domain; float32 or float64). The model is
taken from the dump's
`config` attribute (the graph text in `network_lower` / `network_upper` is only cross-checked against it; the
ViT's parameter blocks are matched by name, docs/SCHEMA.md); the numbers come from /point, /batch, /directions
and /reduced.

Method. The forward pass, the reverse pass and the second-order oracles are written out by hand in float64:
H[V] and J[Z] by exact forward-over-reverse (a tangent pass through the forward and the reverse sweep), no finite
differences. J[Z] uses the symmetry of the Hessian: for hyper_rep it is the x-part of the full Hessian of g (over
x and Y together) applied to the tangent (0, Z); for data_cleaning, where x only enters through the per-sample
weights sigma(x_i), it is J[Z]_i = sum over the batch samples s with id i of sigma'(x_i)/B * d/dt CE_s(Y + tZ).
vit_reweight (pre-norm ViT: patch embedding + learned positions, per block LN -> multi-head attention -> residual,
LN -> feed-forward -> residual, final LN, mean pooling, head) is written one function per layer (linear, softmax,
layernorm, attention, mlp), each forward carrying the tangent along the direction and each backward the tangent of
the adjoints: H[V] and the per-sample d/dt CE_s(Y + tZ) of J[Z] come out of the same forward-over-reverse sweep.
(Cross-checked once against the complex step Im grad_Y g(x, Y + i e V) / e, e = 1e-30, of the reverse pass alone:
agreement <= 7.9e-15 on float64 dumps of every activation, weights learned / uniform / clean, 1 and 3 heads,
depth 1-3, CIFAR.)
data_mixture (byte-level causal LM, tasks/data_mixture.c; rebuild recipe in docs/SCHEMA.md): token embedding
E (C x 256) columns plus learned positions (T x C); per block RMSNorm (gain) or LayerNorm (gain, shift), eps 1e-5
-> causal multi-head attention (Q, K, V, O token-wise C x C, heads head-major, scores / sqrt(dh), key j > query i
masked) -> residual, norm -> GELU (a W1) W2 or SwiGLU (silu(a W1) * (a W3)) W2 -> residual; final norm; logits
h E (the head tied to E); L_s = the mean over the T positions of the next-byte cross-entropy. Lower
g = sum_s c_s L_s + lambda/2 ||Y||^2 (every block), c_s = K softmax(x)[training domain of s] / b (learned; the
engine's softmax_gather with coef K, then wmean), 1/b (uniform, target_only); upper f = the mean L_s over the
upper batch (no x: grad_x f = 0). J[Z] = sum_s dc_s/dx d/dt L_s(Y + tZ). Same forward-over-reverse by hand, reusing
the ViT's layer functions (the attention gets the causal mask). The dump does not store the token ids (its
/batch/<level>/sample_ids are (domain << 32) | offset, /batch/<level>/values is empty): the script rebuilds each
sequence (bytes offset .. offset + T of the domain: T inputs, T next-byte targets) by re-reading the domain's files
as tasks/text_domains.c does (docs/DATA.md: byte-wise sorted names, depth first, suffix filters, gzip inflated,
only the bytes up to the last sequence's end), from task.text_dir/<domain> when the config sets it (a relative
task.text_dir is taken from this script's working directory) or else the installed Debian packages. So a
data_mixture dump checks only on a machine with the same text files; other files give other tokens and every
output FAILS (or, when a domain is shorter than a dump's offset, exit 2 naming it). The dump has no batch-loss
attributes, no network text and no `precision` attribute for this task (runners/oracle_dump.c writes those only for
tasks whose sampler is sbo_neural's): the losses are not compared and the precision comes from task.precision.
`--selfcheck` also validates this implementation against central differences of its own analytic gradients
(step 1e-6 along unit-max directions, float64); it is a test of this script, not of sbo.

Comparison. For every output block: err = max|sbo - ref| / max|ref| (absolute when ref is identically 0).
Reduced outputs are compared with P^T of this script's full outputs (P per block from /reduced/P, P = I for the
blocks without one); the reduced Hessian action with P^T H[P X], H applied by this script. The batch losses
(root attributes loss_lower_batch, loss_upper_batch) are compared too, and P^T P = I is checked.

Tolerances (relative). The engine precision comes from the root attribute `precision` (32 or 64; else from
task.precision in `config`). Measured on Fashion-MNIST dumps (data_cleaning linear and mlp, hyper_rep, every
activation; hidden 16 with batches 64 over seeds 1-5, and the default hidden 256 with batches 256 over seeds 1-2):
float32 losses <= 8.1e-8, gradients <= 1.1e-6, H[V], J[Z] and P^T H[P X] <= 2.0e-6 (the tangent passes lose no
more than the gradients); float64 every output <= 6.1e-15. The defaults are float32 1e-4 (a margin of 50x over
the worst measured, room for larger layers) and float64 1e-9 (a margin of 1e5, yet far below float32 rounding,
so a float64 dump that was in fact computed in float32 fails). A real bug (a missing term, a transposed block, a
wrong scale) gives errors of order 1e-2 to 1. `--tol T` replaces every tolerance by T.
vit_reweight, measured on 88 Fashion-MNIST dumps (width 8, 2 heads, hidden 16, batches 32; depth 1, 2 and 3,
gelu and tanh, weights learned and clean, seeds 1-3 and 10-49 in float32, 1-3 in float64) and 14 others (relu,
uniform, patch 4 with 3 heads, patch 14 with 1 head and depth 3, depth 4 at width 32, the default width 64 /
hidden 128 with batches 64, generated CIFAR-10 with 8 x 8 x 3 patches; both precisions): float32 losses <= 6.9e-8,
cross_Z <= 1.2e-6, gradients <= 1.2e-5, H[V] and P^T H[P X] <= 1.7e-5; float64 every output <= 1.5e-14. The
float32 tail is in the blocks whose value is a sum of many cancelling terms (the layernorm gains and biases, up to
1.7e-5, where every other block stays <= 8.5e-6), so the float32 default for this task is 5e-4 (30x); float64
keeps 1e-9.
Reference bugs it catches (the script itself perturbed, on a float64 and a float32 dump): attention without the
1/sqrt(dh) scale, Wq transposed, heads interleaved instead of head-major, layernorm eps 1e-6 or unbiased
variance, GELU's tanh approximation, no L2 on `pos`, and in the tangent sweep alone the activation's curvature
term or the tangent of 1/sqrt(var + eps) dropped: every one FAILS (the weakest, the tanh GELU, at 2.4e-3; the
tangent-only ones at 0.08 to 1.4 on H[V]).
data_mixture, measured on 109 dumps (plus the self-test's): 44 tiny ones (context 8, width 8, 2 heads, FFN 16; every
combination of float32 / float64, rmsnorm / layernorm, gelu / swiglu, target validation_mixture / jargon held out,
weights learned / uniform, 1 or 2 layers, seeds 1-4), 60 tiny float32 two-layer ones (seeds 10-39, layernorm + gelu
+ jargon held out and rmsnorm + swiglu), 4 at the default size (context 64, width 64, 2 layers of 4 heads, FFN 128,
b = 16; float32 and float64, seeds 1-2), 1 target_only, and the self-test's generated-domain ones: float32 gradients
<= 6.2e-6, H[V], J[Z] and P^T H[P X] <= 2.6e-5 (the default-size ones <= 1.6e-6: the tail is in tiny models'
cancelling sums); float64 every output <= 2.7e-14. The float32 default for this task is 2e-4 (7.7x over the worst):
a wider margin would hide the weakest bug below on float32 dumps; float64 keeps 1e-9.
data_mixture reference bugs (the script perturbed; float32 and float64 dumps, rmsnorm + swiglu 1 layer and layernorm
+ swiglu 2 layers with a held-out target): attention without the causal mask (FAIL at 2.5-2.8 on H[V]),
softmax_gather without the coefficient K (7.0 on the gradients), the tokens one byte off (4.8-12), silu'' dropped in
the tangent sweep alone (0.41-0.71 on H[V]/W1), norm eps 1e-6 instead of 1e-5 (5.2e-4 on an RMSNorm dump, 2.6x the
float32 tolerance, and 2.3e-3 with LayerNorm): every one FAILS. The token rebuild was also checked on one float32
dump of all nine domains (manpages too) with 576 lower and 512 upper sequences (PASS, <= 3.2e-6), and --selfcheck on
a float64 2-layer layernorm + swiglu dump with a held-out target gives <= 1.4e-9.

ReLU kinks. A ReLU pre-activation within the engine's rounding of 0 can fall on the other side of the kink in sbo
than in float64, which changes the mask act'(h) of one (sample, unit) pair and a whole gradient column by O(1/B)
(measured: ~2e-2 relative): a FAIL that is no bug. Pairs with |h| <= band * (|a| |W1| + |b1|) (band 2e-6 for
float32 dumps, 1e-13 for float64, `--kink-band`) get the mask that best matches sbo, and the script says how many
it flipped. A default-size float32 dump has about one such pair per batch; they can hide nothing larger than
that pair's own contribution. The ViT (task.activation = relu) gets the same treatment for every block's
feed-forward pre-activation u = LN2(h) W1 + b1 (band against |LN2(h)| |W1| + |b1|): at the default size (width 64,
hidden 128, batches 64) a float32 dump has 1-5 such units per batch, and one flipped mask in block 1 FAILED H[V]
at 2e-3 before it (seeds 11 and 12; both pass with it, one unit flipped each). Tiny dumps have none.

For dumps without a network (quadratic, counterexample) it prints "no network: skipped", checks only that the
reduced gradients equal P^T of the dump's own full gradients, and exits 0 unless that fails.

Exit status: 0 every check passed, 1 some check failed, 2 the file cannot be checked (missing item, unknown task).
Exercised by: paper_figures/test_check_oracle_dump.py.
"""
import argparse
import math
import sys

import h5py
import numpy as np

ERF = np.vectorize(math.erf, otypes=[float])
INV_SQRT2 = 1.0 / math.sqrt(2.0)
INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)

# default tolerances: (precision, kind) -> relative tolerance; kind 1 = first order and losses, 2 = second order
DEFAULT_TOL = {(32, 1): 1e-4, (32, 2): 1e-4, (64, 1): 1e-9, (64, 2): 1e-9}
# per task where it differs: the ViT's float32 blocks summed from many cancelling terms (the norm parameters) reach
# 1.7e-5 (module docstring)
# data_mixture's float32 tail: 2.6e-5 on H[V] over 104 tiny float32 dumps, 2e-4 keeps a norm eps 1e-6 bug visible
TASK_TOL = {"vit_reweight": {(32, 1): 5e-4, (32, 2): 5e-4}, "data_mixture": {(32, 1): 2e-4, (32, 2): 2e-4}}
P_ORTHO_TOL = 1e-10   # P is stored in double: P^T P = I to rounding


class DumpError(Exception):
    """The file lacks something the check needs; the message names it."""


# ----------------------------------------------------------------------------------------------------------------
# activations: value, first and second derivative
def activation(name):
    if name == "relu":
        return (lambda h: np.maximum(h, 0.0),
                lambda h: (h > 0).astype(float),
                lambda h: np.zeros_like(h))
    if name == "tanh":
        def d1(h):
            t = np.tanh(h)
            return 1.0 - t * t

        def d2(h):
            t = np.tanh(h)
            return -2.0 * t * (1.0 - t * t)
        return np.tanh, d1, d2
    if name == "gelu":   # exact form u * Phi(u)
        def cdf(h):
            return 0.5 * (1.0 + ERF(h * INV_SQRT2))

        def pdf(h):
            return INV_SQRT2PI * np.exp(-0.5 * h * h)
        return (lambda h: h * cdf(h),
                lambda h: cdf(h) + h * pdf(h),
                lambda h: pdf(h) * (2.0 - h * h))
    raise DumpError(f"unknown activation '{name}'")


# ----------------------------------------------------------------------------------------------------------------
def softmax_xent(z, labels, coef):
    """sum_s coef_s CE_s of the softmax cross-entropy of logits z (B, K), the per-sample CE_s, d/dz, softmax(z) and
    the one-hot labels. Complex z (a complex step) is fine: the shift is the max of the real part."""
    B = z.shape[0]
    zmax = z.real.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    lse = (zmax + np.log(s))[:, 0]
    E = np.zeros(z.shape)
    E[np.arange(B), labels] = 1.0
    ce = lse - z[np.arange(B), labels]
    return np.sum(coef * ce), ce, coef[:, None] * (p - E), p, E


def sigmoid(x):
    return np.where(x >= 0, 1.0 / (1.0 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x))))


def reweight_coefs(weights, x, ids):
    """The lower batch's coefficients sigma(x_id)/B of CE_s (task.weights = learned; uniform, clean: 1/B) and their
    derivatives sigma'(x_id)/B (data_cleaning and vit_reweight)."""
    B = len(ids)
    if weights == "learned":
        w = sigmoid(x[ids])
        return w / B, w * (1.0 - w) / B
    return np.full(B, 1.0 / B), np.zeros(B)


# ----------------------------------------------------------------------------------------------------------------
# the network: logits = act(a A1 + c1) A2 + c2 (two layers) or a A2 + c2 (one layer: A1 = None);
# loss = sum_s coef_s CE_s with CE the softmax cross-entropy.
def net(a, labels, coef, A1, c1, A2, c2, act, tangent=None, override=None):
    """Loss, per-sample CE, gradients {A1, c1, A2, c2} of sum_s coef_s CE_s, and, with tangent = (T1, t1, T2, t2)
    (None entries are 0), the Hessian action on every parameter and the per-sample tangent of CE.
    override = (rows, cols, values): act'(h) at those (sample, unit) entries (ReLU units within rounding of 0)."""
    f, d1, d2 = act if act else (None, None, None)
    if A1 is not None:
        h = a @ A1 + c1
        u = f(h)
    else:
        u = a
    z = u @ A2 + c2
    loss, ce, dz, p, E = softmax_xent(z, labels, coef)
    loss = float(loss)
    out = {"A2": u.T @ dz, "c2": dz.sum(axis=0, keepdims=True)}
    if A1 is not None:
        du = dz @ A2.T
        g1 = d1(h)
        if override is not None:
            g1[override[0], override[1]] = override[2]
        dh = du * g1
        out["A1"] = a.T @ dh
        out["c1"] = dh.sum(axis=0, keepdims=True)
    res = {"loss": loss, "ce": ce, "grad": out}
    if tangent is None:
        return res
    T1, t1, T2, t2 = tangent
    zt = np.zeros_like(z)
    ut = None
    if A1 is not None and (T1 is not None or t1 is not None):
        ht = np.zeros_like(h)
        if T1 is not None:
            ht = ht + a @ T1
        if t1 is not None:
            ht = ht + t1
        ut = g1 * ht
        zt = zt + ut @ A2
    if T2 is not None:
        zt = zt + u @ T2
    if t2 is not None:
        zt = zt + t2
    pt = p * (zt - np.sum(p * zt, axis=1, keepdims=True))
    dzt = coef[:, None] * pt
    hv = {"A2": u.T @ dzt + (ut.T @ dz if ut is not None else 0.0), "c2": dzt.sum(axis=0, keepdims=True)}
    if A1 is not None:
        dut = dzt @ A2.T
        if T2 is not None:
            dut = dut + dz @ T2.T
        dht = dut * g1
        if ut is not None:
            dht = dht + du * d2(h) * ht
        hv["A1"] = a.T @ dht
        hv["c1"] = dht.sum(axis=0, keepdims=True)
    res["hvp"] = hv
    res["ce_tangent"] = np.sum((p - E) * zt, axis=1)
    return res


# ----------------------------------------------------------------------------------------------------------------
# the tasks: each maps (x, Y as {block: array}) to the oracles, with Y blocks named as in the dump
class DataCleaning:
    def __init__(self, cfg, lower, upper, lam):
        self.mlp = cfg.get("task.model", "linear") == "mlp"
        self.act_name = cfg.get("task.activation", "relu") if self.mlp else None
        self.act = activation(self.act_name) if self.mlp else None
        self.weights = cfg.get("task.weights", "learned")
        self.lam = lam
        self.lower, self.upper = lower, upper
        self.names = ["W1", "b1", "W2", "b2"] if self.mlp else ["W", "b"]

    def _params(self, Y):
        if self.mlp:
            return Y["W1"], Y["b1"], Y["W2"], Y["b2"]
        return None, None, Y["W"], Y["b"]

    def _to_blocks(self, d):
        if self.mlp:
            return {"W1": d["A1"], "b1": d["c1"], "W2": d["A2"], "b2": d["c2"]}
        return {"W": d["A2"], "b": d["c2"]}

    def _coef_lower(self, x):
        return reweight_coefs(self.weights, x, self.lower["ids"])

    def first_layer(self, x, Y):
        return (Y["W1"], Y["b1"]) if self.mlp else None

    def _lower(self, x, Y, tangent=None):
        coef, _ = self._coef_lower(x)
        b = self.lower
        return net(b["inputs"], b["labels"], coef, *self._params(Y), self.act, tangent, b.get("override"))

    def _upper(self, Y):
        b = self.upper
        B = len(b["labels"])
        return net(b["inputs"], b["labels"], np.full(B, 1.0 / B), *self._params(Y), self.act, None, b.get("override"))

    def loss_lower(self, x, Y):
        return self._lower(x, Y)["loss"] + 0.5 * self.lam * sum(float(np.sum(Y[k] ** 2)) for k in self.names)

    def loss_upper(self, x, Y):
        return self._upper(Y)["loss"]

    def grad_lower_Y(self, x, Y):
        g = self._to_blocks(self._lower(x, Y)["grad"])
        return {k: g[k] + self.lam * Y[k] for k in self.names}

    def grad_upper_Y(self, x, Y):
        return self._to_blocks(self._upper(Y)["grad"])

    def grad_upper_x(self, x, Y):
        return np.zeros_like(x)    # f has no direct x dependence

    def hvp(self, x, Y, V):
        tangent = (V["W1"], V["b1"], V["W2"], V["b2"]) if self.mlp else (None, None, V["W"], V["b"])
        h = self._to_blocks(self._lower(x, Y, tangent)["hvp"])
        return {k: h[k] + self.lam * V[k] for k in self.names}

    def cross(self, x, Y, Z):
        # <grad_Y g, Z> = sum_s coef_s(x) d/dt CE_s(Y + tZ) + lambda <Y, Z>: only the weights depend on x
        tangent = (Z["W1"], Z["b1"], Z["W2"], Z["b2"]) if self.mlp else (None, None, Z["W"], Z["b"])
        r = self._lower(x, Y, tangent)
        _, dcoef = self._coef_lower(x)
        J = np.zeros_like(x)
        np.add.at(J, self.lower["ids"], dcoef * r["ce_tangent"])
        return J


class HyperRep:
    def __init__(self, cfg, lower, upper, lam, pixels):
        self.act_name = cfg.get("task.activation", "relu")
        self.act = activation(self.act_name)
        self.lam = lam
        self.lower, self.upper = lower, upper
        self.pixels = pixels
        self.names = ["W_head", "b_head"]

    def _feat(self, x):
        P = self.pixels
        H = (len(x)) // (P + 1)
        if H * (P + 1) != len(x):
            raise DumpError(f"hyper_rep: len(x) = {len(x)} is not pixels * hidden + hidden with pixels = {P}")
        return x[:P * H].reshape(P, H), x[P * H:].reshape(1, H)

    def first_layer(self, x, Y):
        return self._feat(x)

    def _run(self, batch, x, Y, tangent=None):
        W, b = self._feat(x)
        B = len(batch["labels"])
        return net(batch["inputs"], batch["labels"], np.full(B, 1.0 / B), W, b, Y["W_head"], Y["b_head"], self.act,
                   tangent, batch.get("override"))

    def _ridge(self, Y):
        return 0.5 * self.lam * sum(float(np.sum(Y[k] ** 2)) for k in self.names)

    def loss_lower(self, x, Y):
        return self._run(self.lower, x, Y)["loss"] + self._ridge(Y)

    def loss_upper(self, x, Y):
        return self._run(self.upper, x, Y)["loss"]

    def grad_lower_Y(self, x, Y):
        g = self._run(self.lower, x, Y)["grad"]
        return {"W_head": g["A2"] + self.lam * Y["W_head"], "b_head": g["c2"] + self.lam * Y["b_head"]}

    def grad_upper_Y(self, x, Y):
        g = self._run(self.upper, x, Y)["grad"]
        return {"W_head": g["A2"], "b_head": g["c2"]}

    def grad_upper_x(self, x, Y):
        g = self._run(self.upper, x, Y)["grad"]
        return np.concatenate([g["A1"].ravel(), g["c1"].ravel()])

    def hvp(self, x, Y, V):
        h = self._run(self.lower, x, Y, (None, None, V["W_head"], V["b_head"]))["hvp"]
        return {"W_head": h["A2"] + self.lam * V["W_head"], "b_head": h["c2"] + self.lam * V["b_head"]}

    def cross(self, x, Y, Z):
        # J[Z] = d_x d_Y g . Z: the x-part of the full Hessian (over x and Y) applied to the tangent (0, Z)
        h = self._run(self.lower, x, Y, (None, None, Z["W_head"], Z["b_head"]))["hvp"]
        return np.concatenate([h["A1"].ravel(), h["c1"].ravel()])


# ----------------------------------------------------------------------------------------------------------------
# vit_reweight: a pre-norm vision transformer (tasks/vit_reweight.c), one function per layer. Forward-over-reverse by
# hand: each forward takes its inputs and parameters with their tangents (d/dt along the direction; never None, zeros
# for none) and returns the output, its tangent and a cache; each backward takes the output's adjoint and the adjoint's
# tangent and returns the adjoints of the input and the parameters, each with its tangent (the "t" suffix).
LN_EPS = 1e-5


def wgrad(a, d):
    """The gradient of a token-wise weight (fan-in rows): sum over every leading index of a^T d."""
    return a.reshape(-1, a.shape[-1]).T @ d.reshape(-1, d.shape[-1])


def bgrad(d):
    return d.reshape(-1, d.shape[-1]).sum(axis=0, keepdims=True)


def linear_fwd(a, at, W, Wt, b=None, bt=None):
    """a W (+ b) and its tangent."""
    y, yt = a @ W, at @ W + a @ Wt
    if b is not None:
        y, yt = y + b, yt + bt
    return y, yt


def linear_bwd(a, at, W, Wt, dy, dyt):
    """(da, dat, dW, dWt, db, dbt) of y = a W + b."""
    return (dy @ W.T, dyt @ W.T + dy @ Wt.T, wgrad(a, dy), wgrad(at, dy) + wgrad(a, dyt), bgrad(dy), bgrad(dyt))


def softmax_fwd(s, st):
    """Softmax over the last axis and its tangent p (st - <p, st>)."""
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p, p * (st - np.sum(p * st, axis=-1, keepdims=True))


def softmax_bwd(p, pt, dp, dpt):
    """ds = p (dp - <dp, p>) and its tangent."""
    r = np.sum(dp * p, axis=-1, keepdims=True)
    rt = np.sum(dpt * p + dp * pt, axis=-1, keepdims=True)
    return p * (dp - r), pt * (dp - r) + p * (dpt - rt)


def layernorm_fwd(h, ht, gain, gaint, bias, biast):
    """y = gain (h - mean) / sqrt(var + 1e-5) + bias over the last axis, biased variance."""
    xc, xct = h - h.mean(axis=-1, keepdims=True), ht - ht.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt((xc * xc).mean(axis=-1, keepdims=True) + LN_EPS)
    rstdt = -rstd ** 3 * (xc * xct).mean(axis=-1, keepdims=True)
    xhat, xhatt = xc * rstd, xct * rstd + xc * rstdt
    return xhat * gain + bias, xhatt * gain + xhat * gaint + biast, (xhat, xhatt, rstd, rstdt, gain, gaint)


def layernorm_bwd(dy, dyt, cache):
    """(dh, dht, dgain, dgaint, dbias, dbiast)."""
    xhat, xhatt, rstd, rstdt, gain, gaint = cache
    dx, dxt = dy * gain, dyt * gain + dy * gaint
    m2 = (dx * xhat).mean(axis=-1, keepdims=True)
    m2t = (dxt * xhat + dx * xhatt).mean(axis=-1, keepdims=True)
    inner = dx - dx.mean(axis=-1, keepdims=True) - xhat * m2
    innert = dxt - dxt.mean(axis=-1, keepdims=True) - xhatt * m2 - xhat * m2t
    return (rstd * inner, rstdt * inner + rstd * innert, bgrad(dy * xhat), bgrad(dyt * xhat + dy * xhatt),
            bgrad(dy), bgrad(dyt))


def attention_fwd(a, at, W, Wt, heads, k, causal=False):
    """Multi-head self-attention of a (B, T, C), no biases: Q, K, V = a Wq, a Wk, a Wv split head-major (head j =
    columns j dh .. (j+1) dh), per head softmax(Q K^T / sqrt(dh)) V over the keys, the heads merged back into the
    same columns, times Wo. W, Wt: the blocks and their tangents by name (Wq<k>, ...)."""
    B, T, C = a.shape
    dh = C // heads
    scale = 1.0 / math.sqrt(dh)

    def split(u):   # (B, T, C) -> (B, H, T, dh)
        return u.reshape(B, T, heads, dh).transpose(0, 2, 1, 3)

    def keyT(u):    # transpose of the last two axes
        return u.transpose(0, 1, 3, 2)
    qkv = {}
    for n in "qkv":
        u, ut = linear_fwd(a, at, W[f"W{n}{k}"], Wt[f"W{n}{k}"])
        qkv[n] = (split(u), split(ut))
    (q, qt), (kk, kt), (v, vt) = qkv["q"], qkv["k"], qkv["v"]
    S, St = scale * (q @ keyT(kk)), scale * (qt @ keyT(kk) + q @ keyT(kt))   # (B, H, T, T)
    if causal:   # key j > query i masked: its weight and every derivative through it 0
        keep = np.tril(np.ones((T, T), dtype=bool))
        S, St = np.where(keep, S, -np.inf), np.where(keep, St, 0.0)
    A, At = softmax_fwd(S, St)
    merged = (A @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    mergedt = (At @ v + A @ vt).transpose(0, 2, 1, 3).reshape(B, T, C)
    y, yt = linear_fwd(merged, mergedt, W[f"Wo{k}"], Wt[f"Wo{k}"])
    return y, yt, (a, at, q, qt, kk, kt, v, vt, A, At, merged, mergedt, scale, split, keyT)


def attention_bwd(dy, dyt, cache, W, Wt, k):
    """(da, dat, {block: (grad, tangent)}) of attention_fwd."""
    a, at, q, qt, kk, kt, v, vt, A, At, merged, mergedt, scale, split, keyT = cache
    B, T, C = a.shape
    G = {}
    dm, dmt, gWo, gWot, _, _ = linear_bwd(merged, mergedt, W[f"Wo{k}"], Wt[f"Wo{k}"], dy, dyt)
    G[f"Wo{k}"] = (gWo, gWot)
    dO, dOt = split(dm), split(dmt)
    dA, dAt = dO @ keyT(v), dOt @ keyT(v) + dO @ keyT(vt)
    dv, dvt = keyT(A) @ dO, keyT(At) @ dO + keyT(A) @ dOt
    dS, dSt = softmax_bwd(A, At, dA, dAt)
    dS, dSt = scale * dS, scale * dSt
    dq, dqt = dS @ kk, dSt @ kk + dS @ kt
    dk, dkt = keyT(dS) @ q, keyT(dSt) @ q + keyT(dS) @ qt

    def merge(u):   # (B, H, T, dh) -> (B, T, C)
        return u.transpose(0, 2, 1, 3).reshape(B, T, C)
    da, dat = 0.0, 0.0
    for n, (d, dt) in (("q", (dq, dqt)), ("k", (dk, dkt)), ("v", (dv, dvt))):
        dan, dant, gW, gWt, _, _ = linear_bwd(a, at, W[f"W{n}{k}"], Wt[f"W{n}{k}"], merge(d), merge(dt))
        da, dat = da + dan, dat + dant
        G[f"W{n}{k}"] = (gW, gWt)
    return da, dat, G


def mlp_fwd(a, at, W, Wt, act, k, override=None, record=None):
    """The token-wise feed-forward act(a W1 + b1) W2 + b2 (blocks W1_<k>, b1_<k>, W2_<k>, b2_<k>).
    override = (blocks, flat indices, values): act'(u) there (ReLU units within rounding of the kink, see
    resolve_relu_kinks); record: a list that gets (u, |a| |W1| + |b1|), both flattened."""
    f, d1, _ = act
    u, ut = linear_fwd(a, at, W[f"W1_{k}"], Wt[f"W1_{k}"], W[f"b1_{k}"], Wt[f"b1_{k}"])
    mask = d1(u)
    if override is not None and np.any(override[0] == k):
        sel = override[0] == k
        mask.reshape(-1)[override[1][sel]] = override[2][sel]
    if record is not None:
        record.append((u.reshape(-1), (np.abs(a) @ np.abs(W[f"W1_{k}"]) + np.abs(W[f"b1_{k}"])).reshape(-1)))
    r, rt = f(u), mask * ut
    y, yt = linear_fwd(r, rt, W[f"W2_{k}"], Wt[f"W2_{k}"], W[f"b2_{k}"], Wt[f"b2_{k}"])
    return y, yt, (a, at, u, ut, r, rt, mask)


def mlp_bwd(dy, dyt, cache, W, Wt, act, k):
    d2 = act[2]
    a, at, u, ut, r, rt, mask = cache
    dr, drt, gW2, gW2t, gb2, gb2t = linear_bwd(r, rt, W[f"W2_{k}"], Wt[f"W2_{k}"], dy, dyt)
    du, dut = dr * mask, drt * mask + dr * d2(u) * ut
    da, dat, gW1, gW1t, gb1, gb1t = linear_bwd(a, at, W[f"W1_{k}"], Wt[f"W1_{k}"], du, dut)
    return da, dat, {f"W1_{k}": (gW1, gW1t), f"b1_{k}": (gb1, gb1t), f"W2_{k}": (gW2, gW2t), f"b2_{k}": (gb2, gb2t)}


def vit_block_names(depth):
    """The lower blocks of the ViT by name (the engine's layout order may differ; blocks are matched by name)."""
    names = ["W_patch", "b_patch", "pos"]
    for k in range(depth):
        names += [f"ln1_{k}_gain", f"ln1_{k}_bias", f"Wq{k}", f"Wk{k}", f"Wv{k}", f"Wo{k}",
                  f"ln2_{k}_gain", f"ln2_{k}_bias", f"W1_{k}", f"b1_{k}", f"W2_{k}", f"b2_{k}"]
    return names + ["ln_f_gain", "ln_f_bias", "W_head", "b_head"]


def vit(Y, a, labels, coef, depth, heads, act, D=None, override=None, record=None):
    """sum_s coef_s CE_s of the ViT on a (B, T, P) and its gradient G in every block, and with a direction D (blocks
    by name) the Hessian action H[D] of that sum (d/dt G(Y + tD)) and the per-sample d/dt CE_s(Y + tD).
    Returns (loss, CE_s, G, H[D] or None, d/dt CE_s or None). override, record: mlp_fwd's."""
    Dz = D if D is not None else {n: np.zeros_like(v) for n, v in Y.items()}
    at = np.zeros_like(a)
    h, ht = linear_fwd(a, at, Y["W_patch"], Dz["W_patch"], Y["b_patch"], Dz["b_patch"])
    h, ht = h + Y["pos"], ht + Dz["pos"]
    caches = []
    for k in range(depth):
        n1, n1t, c1 = layernorm_fwd(h, ht, Y[f"ln1_{k}_gain"], Dz[f"ln1_{k}_gain"], Y[f"ln1_{k}_bias"],
                                    Dz[f"ln1_{k}_bias"])
        o, ot, ca = attention_fwd(n1, n1t, Y, Dz, heads, k)
        h, ht = h + o, ht + ot
        n2, n2t, c2 = layernorm_fwd(h, ht, Y[f"ln2_{k}_gain"], Dz[f"ln2_{k}_gain"], Y[f"ln2_{k}_bias"],
                                    Dz[f"ln2_{k}_bias"])
        o, ot, cm = mlp_fwd(n2, n2t, Y, Dz, act, k, override, record)
        h, ht = h + o, ht + ot
        caches.append((c1, ca, c2, cm))
    nf, nft, cf = layernorm_fwd(h, ht, Y["ln_f_gain"], Dz["ln_f_gain"], Y["ln_f_bias"], Dz["ln_f_bias"])
    pooled, pooledt = nf.mean(axis=1), nft.mean(axis=1)
    z, zt = linear_fwd(pooled, pooledt, Y["W_head"], Dz["W_head"], Y["b_head"], Dz["b_head"])
    loss, ce, dz, p, E = softmax_xent(z, labels, coef)
    dzt = coef[:, None] * p * (zt - np.sum(p * zt, axis=1, keepdims=True))
    G = {}
    dpool, dpoolt, gW, gWt, gb, gbt = linear_bwd(pooled, pooledt, Y["W_head"], Dz["W_head"], dz, dzt)
    G["W_head"], G["b_head"] = (gW, gWt), (gb, gbt)
    T = a.shape[1]
    dnf, dnft = (np.repeat(d[:, None, :] / T, T, axis=1) for d in (dpool, dpoolt))
    dh, dht, gg, ggt, gb, gbt = layernorm_bwd(dnf, dnft, cf)
    G["ln_f_gain"], G["ln_f_bias"] = (gg, ggt), (gb, gbt)
    for k in reversed(range(depth)):
        c1, ca, c2, cm = caches[k]
        dn, dnt, Gm = mlp_bwd(dh, dht, cm, Y, Dz, act, k)
        G.update(Gm)
        dx, dxt, gg, ggt, gb, gbt = layernorm_bwd(dn, dnt, c2)
        G[f"ln2_{k}_gain"], G[f"ln2_{k}_bias"] = (gg, ggt), (gb, gbt)
        dh, dht = dh + dx, dht + dxt
        dn, dnt, Ga = attention_bwd(dh, dht, ca, Y, Dz, k)
        G.update(Ga)
        dx, dxt, gg, ggt, gb, gbt = layernorm_bwd(dn, dnt, c1)
        G[f"ln1_{k}_gain"], G[f"ln1_{k}_bias"] = (gg, ggt), (gb, gbt)
        dh, dht = dh + dx, dht + dxt
    G["pos"] = (dh.sum(axis=0), dht.sum(axis=0))
    _, _, gW, gWt, gb, gbt = linear_bwd(a, at, Y["W_patch"], Dz["W_patch"], dh, dht)
    G["W_patch"], G["b_patch"] = (gW, gWt), (gb, gbt)
    grad = {n: g for n, (g, _) in G.items()}
    if D is None:
        return loss, ce, grad, None, None
    return loss, ce, grad, {n: gt for n, (_, gt) in G.items()}, np.sum((p - E) * zt, axis=1)


class WeightedNet:
    """The oracles of g = sum_s coef_s(x) loss_s + lambda/2 ||Y||^2 and f = the upper batch's mean loss from a
    subclass's _run(batch, coef, Y, D) (the network's forward-over-reverse) and _coef_lower(x)."""

    def _upper_coef(self):
        B = len(self.upper["labels"])
        return np.full(B, 1.0 / B)

    def _ridge(self, Y):
        return 0.5 * self.lam * sum(float(np.sum(Y[k] ** 2)) for k in self.names)

    def loss_lower(self, x, Y):
        return float(self._run(self.lower, self._coef_lower(x)[0], Y)[0]) + self._ridge(Y)

    def loss_upper(self, x, Y):
        return float(self._run(self.upper, self._upper_coef(), Y)[0])

    def grad_lower_Y(self, x, Y):
        G = self._run(self.lower, self._coef_lower(x)[0], Y)[2]
        return {k: G[k] + self.lam * Y[k] for k in self.names}

    def grad_upper_Y(self, x, Y):
        return self._run(self.upper, self._upper_coef(), Y)[2]

    def grad_upper_x(self, x, Y):
        return np.zeros_like(x)    # f has no direct x dependence

    def hvp(self, x, Y, V):
        H = self._run(self.lower, self._coef_lower(x)[0], Y, V)[3]
        return {k: H[k] + self.lam * V[k] for k in self.names}


class VitReweight(WeightedNet):
    def __init__(self, cfg, lower, upper, lam, pixels):
        self.depth = int(cfg.get("task.depth", "2"))
        self.heads = int(cfg.get("task.heads", "4"))
        self.width = int(cfg.get("task.width", "64"))
        self.patch = int(cfg.get("task.patch", "7"))
        self.hidden = int(cfg.get("task.hidden", "128"))
        self.act_name = cfg.get("task.activation", "gelu")
        self.act = activation(self.act_name)
        self.weights = cfg.get("task.weights", "learned")
        self.lam = lam
        self.names = vit_block_names(self.depth)
        self.lower, self.upper = dict(lower), dict(upper)
        T = self._tokens(pixels)
        for b in (self.lower, self.upper):   # (B, pixels) -> (B, T, channels p^2): the inputs are patch-major already
            b["tokens"] = b["inputs"].reshape(len(b["labels"]), T, pixels // T)

    def _tokens(self, pixels):
        """T = (side / p)^2 for square images of 1 (Fashion-MNIST) or 3 (CIFAR) channels: pixels = channels side^2."""
        for ch in (1, 3):
            side = math.isqrt(pixels // ch)
            if side * side * ch == pixels and side % self.patch == 0:
                return (side // self.patch) ** 2
        raise DumpError(f"vit_reweight: cannot cut {pixels} input values into {self.patch} x {self.patch} patches")

    def relu_preacts(self, batch, x, Y):
        """Every feed-forward pre-activation u (one row per block) and its scale |a| |W1| + |b1|."""
        rec = []
        vit(Y, batch["tokens"], batch["labels"], np.zeros(len(batch["labels"])), self.depth, self.heads, self.act,
            record=rec)
        return np.stack([u for u, _ in rec]), np.stack([sc for _, sc in rec])

    def check_shapes(self, Y):
        C, Hd, n_in = self.width, self.hidden, self.lower["tokens"].shape[2]
        T = self.lower["tokens"].shape[1]
        want = {"W_patch": (n_in, C), "b_patch": (1, C), "pos": (T, C), "ln_f_gain": (1, C), "ln_f_bias": (1, C),
                "b_head": (1, Y["b_head"].shape[1]), "W_head": (C, Y["b_head"].shape[1])}
        for k in range(self.depth):
            for nm in ("ln1", "ln2"):
                want[f"{nm}_{k}_gain"] = want[f"{nm}_{k}_bias"] = (1, C)
            for nm in "qkvo":
                want[f"W{nm}{k}"] = (C, C)
            want.update({f"W1_{k}": (C, Hd), f"b1_{k}": (1, Hd), f"W2_{k}": (Hd, C), f"b2_{k}": (1, C)})
        bad = [f"{k} {Y[k].shape} (expected {want[k]})" for k in self.names if Y[k].shape != want[k]]
        if bad:
            raise DumpError("vit_reweight blocks do not match the config: " + ", ".join(bad))

    def _run(self, batch, coef, Y, D=None):
        return vit(Y, batch["tokens"], batch["labels"], coef, self.depth, self.heads, self.act, D,
                   batch.get("override"))

    def _coef_lower(self, x):
        return reweight_coefs(self.weights, x, self.lower["ids"])

    def cross(self, x, Y, Z):
        # as data_cleaning: J[Z]_i = sum over the batch samples s with id i of sigma'(x_i)/B d/dt CE_s(Y + tZ)
        ce_t = self._run(self.lower, self._coef_lower(x)[0], Y, Z)[4]
        _, dcoef = self._coef_lower(x)
        J = np.zeros_like(x)
        np.add.at(J, self.lower["ids"], dcoef * ce_t)
        return J


# ----------------------------------------------------------------------------------------------------------------
# data_mixture: a byte-level causal language model (tasks/data_mixture.c), built from the vit_reweight layer
# functions above (linear, softmax, layernorm, attention with a causal mask) plus RMSNorm, the token embedding tied
# to the head, GELU / SwiGLU feed-forwards without biases and the per-token cross-entropy. The same forward-over-
# reverse by hand: H[V] and the per-sequence d/dt L_s(Y + tZ) of J[Z] come from one tangent sweep.
DM_V = 256
DM_DOMAINS = "fortunes_en,fortunes_de,fortunes_es,fortunes_it,jargon,foldoc,c_headers,python"
# tasks/text_domains.c's built-in sources: name -> (root, recursive, include suffixes, exclude suffixes)
DM_SOURCES = {
    "fortunes_en": ("/usr/share/games/fortunes", False, "", ".dat|.u8"),
    "fortunes_de": ("/usr/share/games/fortunes/de", False, "", ".dat|.u8"),
    "fortunes_es": ("/usr/share/games/fortunes/es", False, "", ".dat|.u8"),
    "fortunes_it": ("/usr/share/games/fortunes/it", False, "", ".dat|.u8"),
    "jargon": ("/usr/share/dictd", False, "jargon.dict.dz", ""),
    "foldoc": ("/usr/share/dictd", False, "foldoc.dict.dz", ""),
    "manpages": ("/usr/share/man/man1", False, ".gz", ""),
    "c_headers": ("/usr/include", True, ".h", ""),
    "python": ("/usr/lib/python3.*", True, ".py", ""),
}


def _ends_with_any(name, suffixes):
    return any(s and name.endswith(s.encode()) for s in suffixes.split("|"))


def text_domain_bytes(name, text_dir, need):
    """The first `need` bytes of text domain `name` as tasks/text_domains.c reads them (docs/DATA.md): files in
    byte-wise name order, depth first where the source is recursive, dot names, links and non-regular files
    skipped, suffix filters; gzip members inflated (zlib's gzread: .gz, dictzip .dz), other files as they are."""
    import glob
    import gzip
    import os
    import stat
    import zlib
    root, rec, inc, exc = DM_SOURCES.get(name, ("", False, "", ""))
    if text_dir:
        root = os.path.join(text_dir, name)
    elif not root:
        raise DumpError(f"data_mixture: unknown domain '{name}' and no task.text_dir")
    if "*" in root:
        m = sorted(glob.glob(root))   # glob(3) sorts; the newest (last) match
        if m:
            root = m[-1]
    out = bytearray()

    def walk(d):
        try:
            ents = sorted(os.listdir(os.fsencode(d)))
        except OSError as e:
            raise DumpError(f"data_mixture: cannot read domain '{name}' at {d} ({e}); the dump's token ids are not "
                            "stored, they are rebuilt from the domain's files") from None
        for nm in ents:
            if len(out) >= need:
                return
            if nm.startswith(b"."):
                continue
            p = os.path.join(os.fsencode(d), nm)
            st = os.lstat(p)
            if stat.S_ISDIR(st.st_mode) and rec:
                walk(p)
            elif stat.S_ISREG(st.st_mode) and (not inc or _ends_with_any(nm, inc)) and not _ends_with_any(nm, exc):
                with open(p, "rb") as fh:
                    magic = fh.read(2)
                try:
                    with (gzip.open(p, "rb") if magic == b"\x1f\x8b" else open(p, "rb")) as fh:
                        out.extend(fh.read(need - len(out)))
                except (OSError, EOFError, zlib.error) as e:
                    raise DumpError(f"data_mixture: domain '{name}': cannot read {os.fsdecode(p)} ({e})") from None
    walk(root)
    return bytes(out[:need])


def rmsnorm_fwd(h, ht, gain, gaint):
    """y = gain h / sqrt(mean(h^2) + 1e-5) over the last axis, and its tangent."""
    r = 1.0 / np.sqrt((h * h).mean(axis=-1, keepdims=True) + LN_EPS)
    rt = -r ** 3 * (h * ht).mean(axis=-1, keepdims=True)
    xhat, xhatt = h * r, ht * r + h * rt
    return xhat * gain, xhatt * gain + xhat * gaint, (xhat, xhatt, r, rt, gain, gaint)


def rmsnorm_bwd(dy, dyt, cache):
    """(dh, dht, dgain, dgaint)."""
    xhat, xhatt, r, rt, gain, gaint = cache
    dx, dxt = dy * gain, dyt * gain + dy * gaint
    m2 = (dx * xhat).mean(axis=-1, keepdims=True)
    m2t = (dxt * xhat + dx * xhatt).mean(axis=-1, keepdims=True)
    inner, innert = dx - xhat * m2, dxt - xhatt * m2 - xhat * m2t
    return r * inner, rt * inner + r * innert, bgrad(dy * xhat), bgrad(dyt * xhat + dy * xhatt)


def silu(u):
    s = sigmoid(u)
    return u * s, s * (1.0 + u * (1.0 - s)), s * (1.0 - s) * (2.0 + u * (1.0 - 2.0 * s))


def dm_block_names(layers, norm, ffn):
    """The lower blocks in the engine's layout order (tasks/data_mixture.c, language_model)."""
    nn = (lambda p: [f"{p}.gain", f"{p}.shift"]) if norm == "layernorm" else (lambda p: [f"{p}.gain"])
    names = ["E", "pos"]
    for k in range(layers):
        names += nn(f"l{k}.norm1") + [f"l{k}.W{c}" for c in "qkvo"] + nn(f"l{k}.norm2") + [f"l{k}.W1"]
        names += ([f"l{k}.W3"] if ffn == "swiglu" else []) + [f"l{k}.W2"]
    return names + nn("final_norm")


def lm(Y, tok, tgt, coef, layers, heads, norm, ffn, D=None):
    """sum_s coef_s L_s, L_s the mean over the T positions of the next-byte cross-entropy of sequence s (tokens tok,
    targets tgt, both (B, T)), its gradient in every block, and with a direction D the Hessian action H[D] and the
    per-sequence d/dt L_s(Y + tD). Returns (loss, L_s, G, H[D] or None, d/dt L_s or None)."""
    Dz = D if D is not None else {n: np.zeros_like(v) for n, v in Y.items()}
    B, T = tok.shape
    gelu = activation("gelu")

    def nfwd(h, ht, p):
        if norm == "layernorm":
            return layernorm_fwd(h, ht, Y[p + ".gain"], Dz[p + ".gain"], Y[p + ".shift"], Dz[p + ".shift"])
        return rmsnorm_fwd(h, ht, Y[p + ".gain"], Dz[p + ".gain"])

    def nbwd(dy, dyt, c, p, G):
        if norm == "layernorm":
            dx, dxt, gg, ggt, gb, gbt = layernorm_bwd(dy, dyt, c)
            G[p + ".shift"] = (gb, gbt)
        else:
            dx, dxt, gg, ggt = rmsnorm_bwd(dy, dyt, c)
        G[p + ".gain"] = (gg, ggt)
        return dx, dxt

    E, Et = Y["E"], Dz["E"]
    h, ht = E.T[tok] + Y["pos"], Et.T[tok] + Dz["pos"]
    caches = []
    for k in range(layers):
        W = {f"W{c}": Y[f"l{k}.W{c}"] for c in "qkvo"}
        Wt = {f"W{c}": Dz[f"l{k}.W{c}"] for c in "qkvo"}
        n1, n1t, c1 = nfwd(h, ht, f"l{k}.norm1")
        o, ot, ca = attention_fwd(n1, n1t, W, Wt, heads, "", causal=True)
        h, ht = h + o, ht + ot
        a, at, c2 = nfwd(h, ht, f"l{k}.norm2")
        W1, W1t, W2, W2t = Y[f"l{k}.W1"], Dz[f"l{k}.W1"], Y[f"l{k}.W2"], Dz[f"l{k}.W2"]
        u, ut = linear_fwd(a, at, W1, W1t)
        if ffn == "swiglu":
            W3, W3t = Y[f"l{k}.W3"], Dz[f"l{k}.W3"]
            v, vt = linear_fwd(a, at, W3, W3t)
            s, s1, s2 = silu(u)
            m, mt = s * v, s1 * ut * v + s * vt
            cf = (u, ut, v, vt, s, s1, s2)
        else:
            v = vt = None
            s1, s2 = gelu[1](u), gelu[2](u)
            m, mt = gelu[0](u), s1 * ut
            cf = (u, ut, s1, s2)
        o, ot = linear_fwd(m, mt, W2, W2t)
        h, ht = h + o, ht + ot
        caches.append((c1, ca, W, Wt, c2, a, at, m, mt, cf))
    nf, nft, cfin = nfwd(h, ht, "final_norm")
    z, zt = linear_fwd(nf, nft, E, Et)                         # (B, T, V): tied head
    zmax = z.max(axis=-1, keepdims=True)
    e = np.exp(z - zmax)
    p = e / e.sum(axis=-1, keepdims=True)
    lse = (zmax + np.log(e.sum(axis=-1, keepdims=True)))[..., 0]
    ce = lse - np.take_along_axis(z, tgt[..., None], axis=-1)[..., 0]     # (B, T)
    L = ce.mean(axis=1)
    loss = float(np.sum(coef * L))
    onehot = np.zeros_like(z)
    np.put_along_axis(onehot, tgt[..., None], 1.0, axis=-1)
    w = (coef / T)[:, None, None]
    ptz = p * (zt - np.sum(p * zt, axis=-1, keepdims=True))
    dz, dzt = w * (p - onehot), w * ptz
    G = {}
    dnf, dnft, gE, gEt, _, _ = linear_bwd(nf, nft, E, Et, dz, dzt)
    dh, dht = nbwd(dnf, dnft, cfin, "final_norm", G)
    for k in reversed(range(layers)):
        c1, ca, W, Wt, c2, a, at, m, mt, cf = caches[k]
        W2, W2t = Y[f"l{k}.W2"], Dz[f"l{k}.W2"]
        dm, dmt, g2, g2t, _, _ = linear_bwd(m, mt, W2, W2t, dh, dht)
        G[f"l{k}.W2"] = (g2, g2t)
        if ffn == "swiglu":
            u, ut, v, vt, s, s1, s2 = cf
            du = dm * v * s1
            dut = (dmt * v + dm * vt) * s1 + dm * v * s2 * ut
            dv, dvt = dm * s, dmt * s + dm * s1 * ut
            da3, da3t, g3, g3t, _, _ = linear_bwd(a, at, Y[f"l{k}.W3"], Dz[f"l{k}.W3"], dv, dvt)
            G[f"l{k}.W3"] = (g3, g3t)
        else:
            u, ut, s1, s2 = cf
            du, dut = dm * s1, dmt * s1 + dm * s2 * ut
            da3 = da3t = 0.0
        da, dat, g1, g1t, _, _ = linear_bwd(a, at, Y[f"l{k}.W1"], Dz[f"l{k}.W1"], du, dut)
        G[f"l{k}.W1"] = (g1, g1t)
        dx, dxt = nbwd(da + da3, dat + da3t, c2, f"l{k}.norm2", G)
        dh, dht = dh + dx, dht + dxt
        dn, dnt, Ga = attention_bwd(dh, dht, ca, W, Wt, "")
        for c in "qkvo":
            G[f"l{k}.W{c}"] = Ga[f"W{c}"]
        dx, dxt = nbwd(dn, dnt, c1, f"l{k}.norm1", G)
        dh, dht = dh + dx, dht + dxt
    G["pos"] = (dh.sum(axis=0), dht.sum(axis=0))
    C = E.shape[0]
    for d in (dh, dht):   # the embedding's part of E's gradient: column tok of E gets the token's adjoint
        acc = np.zeros((DM_V, C))
        np.add.at(acc, tok.reshape(-1), d.reshape(-1, C))
        if d is dh:
            gE = gE + acc.T
        else:
            gEt = gEt + acc.T
    G["E"] = (gE, gEt)
    grad = {n: g for n, (g, _) in G.items()}
    if D is None:
        return loss, L, grad, None, None
    return loss, L, grad, {n: gt for n, (_, gt) in G.items()}, np.sum((p - onehot) * zt, axis=-1).mean(axis=1)


class DataMixture(WeightedNet):
    """g = sum_s c_s(x) L_s + lambda/2 ||Y||^2 with c_s = K softmax(x)[dom_s] / b (task.weights = learned;
    uniform, target_only: 1/b), f = mean L_s over the upper batch. The token ids are rebuilt from the sample ids
    (domain << 32) | offset and the domains' files (the dump does not store them)."""

    def __init__(self, f, cfg, lam):
        self.layers = int(cfg.get("task.layers", "2"))
        self.heads = int(cfg.get("task.heads", "4"))
        self.width = int(cfg.get("task.width", "64"))
        self.T = int(cfg.get("task.context", "64"))
        self.F = int(cfg.get("task.ffn_hidden", "128"))
        self.norm = cfg.get("task.norm", "rmsnorm")
        self.ffn = cfg.get("task.ffn", "gelu")
        self.weights = cfg.get("task.weights", "learned")
        if self.norm not in ("rmsnorm", "layernorm") or self.ffn not in ("gelu", "swiglu"):
            raise DumpError(f"data_mixture: task.norm = {self.norm}, task.ffn = {self.ffn}: unknown")
        self.domains = [d.strip() for d in cfg.get("task.domains", DM_DOMAINS).replace(" ", ",").split(",")
                        if d.strip()]
        target = cfg.get("task.target", "validation_mixture")
        self.train_of = {}
        for d, nm in enumerate(self.domains):
            if nm != target:
                self.train_of[d] = len(self.train_of)
        self.K = len(self.train_of)
        self.lam = lam
        self.act_name = self.ffn
        self.names = dm_block_names(self.layers, self.norm, self.ffn)
        budget = int(cfg.get("task.domain_bytes", "2097152"))
        text_dir = cfg.get("task.text_dir", "")
        ids = {}
        for level in ("lower", "upper"):
            g = f.get(f"batch/{level}/sample_ids")
            if g is None:
                raise DumpError(f"missing dataset /batch/{level}/sample_ids")
            ids[level] = np.asarray(g[()], dtype=np.int64).ravel()
        allids = np.concatenate([ids["lower"], ids["upper"]])
        doms, offs = allids >> 32, allids & 0xFFFFFFFF
        if np.any(doms < 0) or np.any(doms >= len(self.domains)):
            raise DumpError(f"data_mixture: sample ids name domains outside 0..{len(self.domains) - 1}")
        text = {}
        for d in np.unique(doms):
            need = int(offs[doms == d].max()) + self.T + 1
            if need > budget:
                raise DumpError(f"data_mixture: a sequence of domain {self.domains[d]} ends at byte {need}, past "
                                f"task.domain_bytes = {budget}")
            text[int(d)] = np.frombuffer(text_domain_bytes(self.domains[d], text_dir, need), dtype=np.uint8)
            if len(text[int(d)]) < need:
                raise DumpError(f"data_mixture: domain {self.domains[d]} has {len(text[int(d)])} bytes here, the "
                                f"dump's sequences need {need}: not the same text files")
        self.lower, self.upper = {}, {}
        for level, b in (("lower", self.lower), ("upper", self.upper)):
            seq = np.stack([text[int(i >> 32)][(i & 0xFFFFFFFF):(i & 0xFFFFFFFF) + self.T + 1] for i in ids[level]])
            b["tokens"], b["labels"] = seq[:, :-1].astype(int), seq[:, 1:].astype(int)
            b["dom"] = np.array([self.train_of.get(int(i >> 32), 0) for i in ids[level]], dtype=int)

    def check_shapes(self, Y):
        C, T, F = self.width, self.T, self.F
        want = {"E": (C, DM_V), "pos": (T, C)}
        for n in self.names:
            if n.endswith((".gain", ".shift")):
                want[n] = (1, C)
            elif n.endswith(("Wq", "Wk", "Wv", "Wo")):
                want[n] = (C, C)
            elif n.endswith(("W1", "W3")):
                want[n] = (C, F)
            elif n.endswith("W2"):
                want[n] = (F, C)
        bad = [f"{k} {Y[k].shape} (expected {want[k]})" for k in self.names if Y[k].shape != want[k]]
        if bad:
            raise DumpError("data_mixture blocks do not match the config: " + ", ".join(bad))

    def _run(self, batch, coef, Y, D=None):
        return lm(Y, batch["tokens"], batch["labels"], coef, self.layers, self.heads, self.norm, self.ffn, D)

    def _coef_lower(self, x):
        """c_s = K softmax(x)[dom_s] / b and dc_s/dx (b, K) (learned); 1/b and 0 otherwise."""
        dom = self.lower["dom"]
        b = len(dom)
        if self.weights != "learned":
            return np.full(b, 1.0 / b), np.zeros((b, len(x)))
        e = np.exp(x - x.max())
        w = e / e.sum()
        c = self.K * w[dom] / b
        dc = c[:, None] * (np.eye(len(x))[dom] - w[None, :])
        return c, dc

    def cross(self, x, Y, Z):
        # J[Z] = sum_s dc_s/dx d/dt L_s(Y + tZ)
        lt = self._run(self.lower, self._coef_lower(x)[0], Y, Z)[4]
        return self._coef_lower(x)[1].T @ lt


# ----------------------------------------------------------------------------------------------------------------
def read_tuple(f, group, names=None):
    if group not in f:
        raise DumpError(f"missing group /{group}")
    g = f[group]
    keys = names if names is not None else list(g.keys())
    out = {}
    for k in keys:
        if k not in g:
            raise DumpError(f"missing dataset /{group}/{k}")
        a = np.asarray(g[k][()], dtype=float)
        out[k] = a.reshape(-1, 1) if a.ndim == 1 else a
    return out


def read_batch(f, name):
    g = f[f"batch/{name}"]
    for k in ("inputs", "labels", "sample_ids"):
        if k not in g:
            raise DumpError(f"missing dataset /batch/{name}/{k}")
    return {"inputs": np.asarray(g["inputs"][()], dtype=float), "labels": np.asarray(g["labels"][()], dtype=int),
            "ids": np.asarray(g["sample_ids"][()], dtype=int)}


def parse_config(text):
    cfg = {}
    for line in text.splitlines():
        if " = " in line:
            k, v = line.split(" = ", 1)
            cfg[k.strip()] = v.strip()
    return cfg


def rel_err(a, ref):
    a, ref = np.asarray(a, dtype=float), np.asarray(ref, dtype=float)
    if a.shape != ref.shape:
        if a.size == ref.size:
            a = a.reshape(ref.shape)
        else:
            return math.inf, "shape"
    if not np.all(np.isfinite(a)):
        return math.inf, "non-finite"
    d = float(np.max(np.abs(a - ref))) if a.size else 0.0
    s = float(np.max(np.abs(ref))) if ref.size else 0.0
    return (d / s, "rel") if s > 0 else (d, "abs")


class Table:
    def __init__(self):
        self.rows = []

    def add(self, name, a, ref, tol):
        err, how = rel_err(a, ref)
        self.rows.append((name, err, how, tol, err <= tol))

    def add_value(self, name, err, how, tol):
        self.rows.append((name, err, how, tol, err <= tol))

    def print(self, out=sys.stdout):
        w = max([len(r[0]) for r in self.rows] + [6])
        print(f"{'output':<{w}}  {'max error':>10}  {'':3}  {'tolerance':>9}  result", file=out)
        for name, err, how, tol, ok in self.rows:
            print(f"{name:<{w}}  {err:10.3e}  {how:3}  {tol:9.1e}  {'PASS' if ok else 'FAIL'}", file=out)

    def failed(self):
        return [r[0] for r in self.rows if not r[4]]


def blocks_PtA(P, A):
    """P^T A per block (P[k] None: identity)."""
    return {k: (P[k].T @ A[k] if P.get(k) is not None else A[k]) for k in A}


def blocks_PA(P, A):
    return {k: (P[k] @ A[k] if P.get(k) is not None else A[k]) for k in A}


def check_P(f, names, table):
    P = {}
    if "reduced/P" in f:
        for k in f["reduced/P"].keys():
            P[k] = np.asarray(f["reduced/P"][k][()], dtype=float)
            if P[k].ndim == 1:
                P[k] = P[k].reshape(-1, 1)
            r = P[k].shape[1]
            table.add_value(f"P^T P - I [{k}]", float(np.max(np.abs(P[k].T @ P[k] - np.eye(r)))), "abs", P_ORTHO_TOL)
    for k in P:
        if k not in names:
            raise DumpError(f"/reduced/P/{k} names no lower block (blocks: {', '.join(names)})")
    return P


def check_no_network(f, table, tol):
    """Quadratic and counterexample dumps: reduced gradients against P^T of the dump's own full gradients."""
    names = list(f["point/Y"].keys())
    P = check_P(f, names, table)
    for out in ("grad_lower_Y", "grad_upper_Y"):
        full = read_tuple(f, f"oracles/{out}", names)
        red = read_tuple(f, f"reduced/{out}", names)
        ref = blocks_PtA(P, full)
        for k in names:
            table.add(f"reduced/{out}/{k} vs P^T sbo full", red[k], ref[k], tol)


def make_task(f, attrs, cfg):
    task = attrs.get("task", "")
    lam = float(cfg["task.lambda"]) if "task.lambda" in cfg else None
    if task == "data_mixture":
        return DataMixture(f, cfg, 1e-4 if lam is None else lam)
    lower, upper = read_batch(f, "lower"), read_batch(f, "upper")
    if task == "data_cleaning":
        t = DataCleaning(cfg, lower, upper, 1e-3 if lam is None else lam)
    elif task == "hyper_rep":
        t = HyperRep(cfg, lower, upper, 1e-2 if lam is None else lam, lower["inputs"].shape[1])
    elif task == "vit_reweight":
        t = VitReweight(cfg, lower, upper, 1e-3 if lam is None else lam, lower["inputs"].shape[1])
        check_vit_network(t, attrs)
        return t
    else:
        raise DumpError(f"task '{task}' has network inputs but this script knows only data_cleaning, hyper_rep and "
                        "vit_reweight")
    # cross-check the recorded graphs against the model read from the config
    net_lo, net_up = str(attrs.get("network_lower", "")), str(attrs.get("network_upper", ""))
    problems = []
    act = cfg.get("task.activation", "relu")
    uses_act = task == "hyper_rep" or cfg.get("task.model") == "mlp"
    for label, text in (("network_lower", net_lo), ("network_upper", net_up)):
        if not text:
            continue
        ops = [ln.split()[0] for ln in text.splitlines() if ln.strip()]
        acts = [o for o in ops if o in ("relu", "tanh", "gelu")]
        if uses_act and acts != [act]:
            problems.append(f"{label} has activations {acts}, config says task.activation = {act}")
        if not uses_act and acts:
            problems.append(f"{label} has activations {acts}, but the config's model has none")
        if "linear" in ops and ops.count("linear") != (2 if uses_act else 1):
            problems.append(f"{label} has {ops.count('linear')} linear ops")
    coefs = [float(ln.split("coef")[1].split()[0]) for ln in net_lo.splitlines() if ln.startswith("l2 ")]
    if net_lo and any(abs(c - t.lam) > 1e-12 * max(1.0, abs(t.lam)) for c in coefs):
        problems.append(f"network_lower l2 coefficients {coefs} differ from task.lambda = {t.lam}")
    n_l2 = len(t.names)
    if net_lo and len(coefs) != n_l2:
        problems.append(f"network_lower has {len(coefs)} l2 terms, expected {n_l2} (every lower block)")
    want_sigmoid = task == "data_cleaning" and t.weights == "learned"
    if net_lo and ("sigmoid_gather" in net_lo) != want_sigmoid:
        problems.append(f"network_lower {'lacks' if want_sigmoid else 'has'} sigmoid_gather "
                        f"(task.weights = {cfg.get('task.weights')})")
    if problems:
        raise DumpError("the recorded network does not match the config: " + "; ".join(problems))
    return t


def check_vit_network(t, attrs):
    """The recorded ViT graphs against the model rebuilt from the config (raises DumpError on a mismatch)."""
    problems = []
    for label in ("network_lower", "network_upper"):
        text = str(attrs.get(label, ""))
        if not text:
            continue
        lines = [ln for ln in text.splitlines() if ln.strip()]
        ops = [ln.split()[0] for ln in lines if not ln.startswith("param ")]
        params = {ln.split()[1] for ln in lines if ln.startswith("param ") and "lower block" in ln}
        if params != set(t.names):
            problems.append(f"{label} has lower parameters {sorted(params ^ set(t.names))} beyond or missing from "
                            "the config's model")
        if not text.endswith("(loss term)\n"):
            continue   # cut short (dumps before the writer's buffer grew past 4 kB): the parameter list only
        acts = [o for o in ops if o in ("relu", "tanh", "gelu")]
        if acts != [t.act_name] * t.depth:
            problems.append(f"{label} has activations {acts}, config says {t.depth} x {t.act_name}")
        want = {"layernorm": 2 * t.depth + 1, "softmax": t.depth, "matmul": 2 * t.depth, "linear": 6 * t.depth + 2,
                "mean_tokens": 1, "add_bcast": 1, "xent": 1}
        for op, n in want.items():
            if ops.count(op) != n:
                problems.append(f"{label} has {ops.count(op)} {op} ops, expected {n}")
        coefs = [float(ln.split("coef")[1].split()[0]) for ln in lines if ln.startswith("l2 ")]
        n_l2 = len(t.names) if label == "network_lower" else 0
        if len(coefs) != n_l2 or any(abs(c - t.lam) > 1e-12 * max(1.0, abs(t.lam)) for c in coefs):
            problems.append(f"{label} has l2 terms {coefs}, expected {n_l2} x task.lambda = {t.lam}")
        want_sigmoid = label == "network_lower" and t.weights == "learned"
        if ("sigmoid_gather" in ops) != want_sigmoid:
            problems.append(f"{label} {'lacks' if want_sigmoid else 'has'} sigmoid_gather (task.weights = {t.weights})")
    if problems:
        raise DumpError("the recorded network does not match the config: " + "; ".join(problems))


def selfcheck(t, x, Y, V, Z, names, out=sys.stdout):
    """Central differences (float64) of this script's own analytic functions; a test of the script, not of sbo."""
    h = 1e-6
    rng = np.random.default_rng(0)
    unit = lambda A: {k: A[k] / max(np.max(np.abs(A[k])) for k in A) for k in A}  # noqa: E731
    Vu, Zu = unit(V), unit(Z)
    U = rng.standard_normal(x.shape)
    U /= np.max(np.abs(U))
    add = lambda A, s, B: {k: A[k] + s * B[k] for k in A}  # noqa: E731
    dot = lambda A, B: sum(float(np.sum(A[k] * B[k])) for k in names)  # noqa: E731
    rows = []

    def rel(a, b, scale=None):
        # scalars: relative to the Cauchy-Schwarz scale |grad| |direction| (a directional derivative can be ~0)
        return abs(a - b) / scale if scale else rel_err(a, b)[0]

    def norm(A):
        return math.sqrt(dot(A, A)) if isinstance(A, dict) else float(np.linalg.norm(A))
    gl = t.grad_lower_Y(x, Y)
    fd = (t.loss_lower(x, add(Y, h, Vu)) - t.loss_lower(x, add(Y, -h, Vu))) / (2 * h)
    rows.append(("<grad_lower_Y, V> vs d/dt g(Y+tV)", rel(dot(gl, Vu), fd, norm(gl) * norm(Vu))))
    gu = t.grad_upper_Y(x, Y)
    fd = (t.loss_upper(x, add(Y, h, Vu)) - t.loss_upper(x, add(Y, -h, Vu))) / (2 * h)
    rows.append(("<grad_upper_Y, V> vs d/dt f(Y+tV)", rel(dot(gu, Vu), fd, norm(gu) * norm(Vu))))
    gx = t.grad_upper_x(x, Y)
    fd = (t.loss_upper(x + h * U, Y) - t.loss_upper(x - h * U, Y)) / (2 * h)
    rows.append(("<grad_upper_x, U> vs d/dt f(x+tU)", rel(float(np.dot(gx, U)), fd, norm(gx) * norm(U) or 1.0)))
    HV = t.hvp(x, Y, Vu)
    gp, gm = t.grad_lower_Y(x, add(Y, h, Vu)), t.grad_lower_Y(x, add(Y, -h, Vu))
    fdH = {k: (gp[k] - gm[k]) / (2 * h) for k in names}
    rows.append(("H[V] vs central difference of grad_lower_Y",
                 rel(np.concatenate([HV[k].ravel() for k in names]),
                     np.concatenate([fdH[k].ravel() for k in names]))))
    J = t.cross(x, Y, Zu)
    fd = (dot(t.grad_lower_Y(x + h * U, Y), Zu) - dot(t.grad_lower_Y(x - h * U, Y), Zu)) / (2 * h)
    rows.append(("<J[Z], U> vs d/dt <grad_lower_Y(x+tU), Z>", rel(float(np.dot(J, U)), fd, norm(J) * norm(U) or 1.0)))
    print(f"self-check of this script (central differences, h = {h:g}, float64):", file=out)
    for name, e in rows:
        print(f"  {name:<45} {e:.2e}", file=out)
    return max(e for _, e in rows)


# ReLU units whose pre-activation h lies within the engine's rounding of 0 may have their mask act'(h) on the other
# side in sbo than in float64 (a float32 h = 1e-7 * scale can come out negative). Such a flip changes whole
# gradient columns (an O(1/B) relative change), a FAIL that is no bug. These (sample, unit) pairs are found with
# |h| <= band * (|a| |W1| + |b1|) and their mask is chosen to match sbo (exhaustively for up to 4 pairs, else by
# greedy flips); the script reports how many it flipped. Measured: numpy's float32 rounding of h is <= 2.1e-7 of
# that scale on Fashion-MNIST dumps; a default-size float32 dump has about 1 pair per batch below 1e-6.
KINK_BAND = {32: 2e-6, 64: 1e-13}


def relu_preacts(t, batch, x, Y):
    """The ReLU pre-activations h of a batch as a 2-D array and their scales |a| |W1| + |b1| (data_cleaning mlp,
    hyper_rep: (sample, unit); vit_reweight: (block, flat index over sample, token and unit))."""
    if hasattr(t, "relu_preacts"):
        return t.relu_preacts(batch, x, Y)
    A1, c1 = t.first_layer(x, Y)
    a = batch["inputs"]
    return a @ A1 + c1, np.abs(a) @ np.abs(A1) + np.abs(c1)


def resolve_relu_kinks(batch, preacts, band, make_rows, score, level):
    h, scale = preacts
    rr, cc = np.nonzero(np.abs(h) <= band * scale)
    batch.pop("override", None)
    K = len(rr)
    if K == 0:
        return None
    natural = (h[rr, cc] > 0).astype(float)
    if K > 64:
        return (f"relu: {level} batch: {K} units within rounding of the kink (band {band:g}); too many "
                "to resolve, using act'(h) = [h > 0]")

    def trial(vals):
        batch["override"] = (rr, cc, vals)
        return score(make_rows())
    best = natural.copy()
    best_s = trial(best)
    if K <= 4:
        for m in range(1, 2 ** K):
            v = natural.copy()
            for i in range(K):
                if m >> i & 1:
                    v[i] = 1.0 - v[i]
            sc = trial(v)
            if sc < best_s:
                best, best_s = v, sc
    else:
        for _ in range(2):
            improved = False
            for i in range(K):
                v = best.copy()
                v[i] = 1.0 - v[i]
                sc = trial(v)
                if sc < best_s:
                    best, best_s, improved = v, sc, True
            if not improved:
                break
    batch["override"] = (rr, cc, best)
    flipped = int(np.sum(best != natural))
    return (f"relu: {level} batch: {K} unit(s) with |h| <= {band:g} * (|a||W1| + |b1|); "
            f"act'(h) chosen to match sbo there: {flipped} differ from [h > 0] in float64")


def ROW_ORDER(name):
    order = ["loss_lower_batch", "loss_upper_batch", "grad_lower_Y/", "grad_upper_Y/", "grad_upper_x", "hvp_V/",
             "cross_Z", "reduced/grad_lower_Y/", "reduced/hvp_X/", "reduced/grad_upper_Y/"]
    for i, o in enumerate(order):
        if name.startswith(o):
            return i
    return len(order)


def check(path, tol_override=None, do_selfcheck=False, out=sys.stdout, kink_band=None):
    """Prints the table and returns the exit status (0 pass, 1 fail); raises DumpError when it can't check."""
    table = Table()
    with h5py.File(path, "r") as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        if attrs.get("kind") not in (None, "oracle_dump"):
            raise DumpError(f"root attribute kind = '{attrs.get('kind')}', not an oracle dump")
        cfg = parse_config(str(attrs.get("config", "")))
        task = attrs.get("task", "?")
        has_net = "batch/lower/inputs" in f or task == "data_mixture"
        if "precision" in attrs:
            prec = int(attrs["precision"])
        else:
            prec = 64 if cfg.get("task.precision") == "float64" else 32
        tols = {**DEFAULT_TOL, **TASK_TOL.get(task, {})}
        tol1 = tol_override if tol_override is not None else tols[(prec, 1)]
        tol2 = tol_override if tol_override is not None else tols[(prec, 2)]
        if not has_net:
            print(f"{path}: task {task}: no network: skipped (checking only reduced = P^T full on the dump's own "
                  "gradients)", file=out)
            check_no_network(f, table, tol_override if tol_override is not None else 1e-10)
            table.print(out)
            bad = table.failed()
            print(("FAIL: " + ", ".join(bad)) if bad else "PASS", file=out)
            return 1 if bad else 0
        t = make_task(f, attrs, cfg)
        names = t.names
        x = np.asarray(f["point/x"][()], dtype=float).ravel()
        Y = read_tuple(f, "point/Y", names)
        V = read_tuple(f, "directions/V", names)
        Z = read_tuple(f, "directions/Z", names)
        if hasattr(t, "check_shapes"):
            t.check_shapes(Y)
        P = check_P(f, names, table)
        X = read_tuple(f, "reduced/X", names)
        for k in names:
            exp = (P[k].shape[1] if k in P else Y[k].shape[0], Y[k].shape[1])
            if X[k].shape != exp:
                raise DumpError(f"/reduced/X/{k} has shape {X[k].shape}, expected {exp}")
        if task == "vit_reweight":
            model = (f"ViT patch {t.patch}, width {t.width}, depth {t.depth}, heads {t.heads}, hidden {t.hidden}, "
                     f"weights {t.weights}")
        elif task == "data_mixture":
            model = (f"byte LM context {t.T}, width {t.width}, layers {t.layers}, heads {t.heads}, "
                     f"ffn {t.ffn} {t.F}, {t.norm}, K = {t.K}, weights {t.weights}")
        elif task == "data_cleaning":
            model = cfg.get('task.model', 'mlp')
        else:
            model = 'feature MLP + linear head'
        print(f"{path}: task {task}, model {model}, "
              f"activation {t.act_name if getattr(t, 'act', None) else '-'}, "
              f"precision float{prec}, lambda {t.lam:g}, lower batch {len(t.lower['labels'])}, "
              f"upper batch {len(t.upper['labels'])}, d = {len(x)}; blocks "
              + ", ".join(f"{k} {Y[k].shape[0]}x{Y[k].shape[1]}" for k in names), file=out)
        print("reference: independent NumPy float64, forward-over-reverse by hand (no finite differences)", file=out)

        # sbo's outputs, by level of the batch they use, with their tolerances
        lower_outs = [("grad_lower_Y", "oracles", tol1), ("hvp_V", "oracles", tol2),
                      ("grad_lower_Y", "reduced", tol1), ("hvp_X", "reduced", tol2)]
        upper_outs = [("grad_upper_Y", "oracles", tol1), ("grad_upper_Y", "reduced", tol1)]
        got = {}
        for name, grp, _ in lower_outs + upper_outs:
            got[f"{grp}/{name}"] = read_tuple(f, f"{grp}/{name}", names)
        got["oracles/cross_Z"] = np.asarray(f["oracles/cross_Z"][()], dtype=float).ravel()
        got["oracles/grad_upper_x"] = np.asarray(f["oracles/grad_upper_x"][()], dtype=float).ravel()

        def rows(level):
            """[(row name, sbo's value, reference, tolerance)] of the outputs that use the batch of `level`."""
            r = []
            if level == "lower":
                if "loss_lower_batch" in attrs:
                    r.append(("loss_lower_batch", float(attrs["loss_lower_batch"]), t.loss_lower(x, Y), tol1))
                gl = t.grad_lower_Y(x, Y)
                ref = {"oracles/grad_lower_Y": gl, "oracles/hvp_V": t.hvp(x, Y, V),
                       "reduced/grad_lower_Y": blocks_PtA(P, gl),
                       "reduced/hvp_X": blocks_PtA(P, t.hvp(x, Y, blocks_PA(P, X)))}
                outs = lower_outs
            else:
                if "loss_upper_batch" in attrs:
                    r.append(("loss_upper_batch", float(attrs["loss_upper_batch"]), t.loss_upper(x, Y), tol1))
                gu = t.grad_upper_Y(x, Y)
                ref = {"oracles/grad_upper_Y": gu, "reduced/grad_upper_Y": blocks_PtA(P, gu)}
                outs = upper_outs
            for name, grp, tol in outs:
                key = f"{grp}/{name}"
                for k in names:
                    r.append((f"{key[8:] if grp == 'oracles' else key}/{k}", got[key][k], ref[key][k], tol))
            if level == "lower":
                r.append(("cross_Z", got["oracles/cross_Z"], t.cross(x, Y, Z), tol2))
            else:
                r.append(("grad_upper_x", got["oracles/grad_upper_x"], t.grad_upper_x(x, Y), tol1))
            return r

        def score(r):
            return sum(min(rel_err(a, b)[0] / tol, 1e6) for _, a, b, tol in r)

        notes = []
        all_rows = []
        for level in ("lower", "upper"):
            batch = t.lower if level == "lower" else t.upper
            if getattr(t, "act_name", None) == "relu":
                batch.pop("override", None)
                notes.append(resolve_relu_kinks(batch, relu_preacts(t, batch, x, Y),
                                                KINK_BAND[prec] if kink_band is None else kink_band,
                                                lambda: rows(level), score, level))
            all_rows += rows(level)
        for name, a, b, tol in sorted(all_rows, key=lambda r: ROW_ORDER(r[0])):
            table.add(name, a, b, tol)
        for n in notes:
            if n:
                print(n, file=out)
        sc = selfcheck(t, x, Y, V, Z, names, out) if do_selfcheck else None
    table.print(out)
    bad = table.failed()
    if sc is not None and not sc <= 1e-5:
        bad.append(f"self-check of this script ({sc:.1e} > 1e-5)")
    print(("FAIL: " + ", ".join(bad)) if bad else "PASS", file=out)
    return 1 if bad else 0


def main(argv=None):
    p = argparse.ArgumentParser(description="Re-compute every oracle of an `sbo oracle-dump` file with an independent "
                                "NumPy float64 implementation and compare (exit 1 on any failure).")
    p.add_argument("dump", metavar="FILE.h5")
    p.add_argument("--tol", type=float, default=None,
                   help="relative tolerance for every output (default: by the dump's precision: float32 1e-4 "
                   "(vit_reweight 5e-4, data_mixture 2e-4), float64 1e-9)")
    p.add_argument("--selfcheck", action="store_true",
                   help="also test this script's own H[V], J[Z] and gradients against central differences")
    p.add_argument("--kink-band", type=float, default=None,
                   help="ReLU pre-activations with |h| <= BAND * (|a||W1| + |b1|) count as within rounding of the kink "
                   "and get the mask that matches sbo (default: 2e-6 for float32 dumps, 1e-13 for float64; 0: off)")
    a = p.parse_args(argv)
    try:
        return check(a.dump, a.tol, a.selfcheck, kink_band=a.kink_band)
    except (DumpError, OSError, KeyError) as e:
        print(f"{a.dump}: cannot check: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
