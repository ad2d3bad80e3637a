"""Checks for the lessons' exercises: each runs the learner's function and says, in plain words, what is wrong.

Every exercise asks for a function; its check calls it on cases with known answers. A check either prints what
was right or raises `CheckFailed` whose message names the problem: not done yet, a wrong shape, a flipped sign,
a value off by how much, a missing `.detach()`. The student version of a notebook (`make student`) replaces each
solution with `raise NotImplementedError`, which the check reports as "not done yet".
"""
from __future__ import annotations

import copy
import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .config import isolated_rng
from .few_labels import paired_difference
from .losses import (discriminator_loss, non_saturating_generator_loss, saturating_generator_loss,
                     semi_supervised_discriminator_loss)
from .metrics import inception_score, mode_metrics
from .models import ConvDiscriminator, ConvGenerator, replace_layers
from .theory import gaussian_density, optimal_discriminator


class CheckFailed(AssertionError):
    """An exercise's answer is not right yet; the message says what is wrong."""


def _fail(exercise: str, problem: str) -> CheckFailed:
    """The error to raise for `exercise`, with the problem in plain words."""
    return CheckFailed(f"{exercise}: {problem}")


def _call(exercise: str, function: Callable, *arguments: Any) -> Any:
    """Call the learner's function, turning a stub or a crash into a message about the exercise."""
    if not callable(function):
        raise TypeError(f"{exercise}: pass your function itself (for example `check.x(my_function)`), "
                        f"not {type(function).__name__}")
    try:
        return function(*arguments)
    except NotImplementedError:
        raise _fail(exercise, f"not done yet: `{getattr(function, '__name__', 'your function')}` still raises "
                              "NotImplementedError. Replace that line with your code.") from None
    except Exception as error:  # the learner's bug: say so, and keep the traceback
        raise _fail(exercise, f"your function raised {type(error).__name__}: {error}") from error


def _as_tensor(exercise: str, value: Any, what: str, shape: tuple[int, ...], nan_hint: str = "") -> torch.Tensor:
    """The learner's result as a float64 tensor of the expected shape, or a message about what it was."""
    if not isinstance(value, (torch.Tensor, float, int)):
        raise _fail(exercise, f"{what} should be a tensor, got {type(value).__name__}")
    value = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value, dtype=torch.float64)
    if tuple(value.shape) != shape:
        raise _fail(exercise, f"{what} should have shape {list(shape)}, got {list(value.shape)}")
    if not torch.isfinite(value).all():
        raise _fail(exercise, f"{what} contains NaN or infinite values{nan_hint}")
    return value


def _passed(exercise: str, detail: str) -> None:
    """Tell the learner the exercise is right, and what that showed."""
    print(f"{exercise}: correct. {detail}")


# --- lesson 01 -------------------------------------------------------------------------------------------------
def optimal_discriminator_closed_form(d_star: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Lesson 01: d_star(x) must be D*(x) for p_data = N(0, 1) and p_g = N(2, 1), as a closed form in x."""
    exercise = "Exercise 1 (the optimal discriminator in closed form)"
    x = torch.linspace(-5, 7, 241, dtype=torch.float64)
    answer = _as_tensor(exercise, _call(exercise, d_star, x), "d_star(x)", tuple(x.shape))
    expected = optimal_discriminator(gaussian_density(x, 0.0, 1.0), gaussian_density(x, 2.0, 1.0))
    error = (answer - expected).abs().max().item()
    if error < 1e-6:
        return _passed(exercise, "D*(x) = sigmoid(2 - 2x): the log-ratio of two Gaussians with equal "
                                 "variance is linear in x, so D* is a logistic curve, 1/2 at x = 1.")
    if (answer < 0).any() or (answer > 1).any():
        raise _fail(exercise, f"D must be a probability, but your values span [{answer.min():.3g}, "
                              f"{answer.max():.3g}]. Did you return the logit? D* = sigmoid(logit).")
    if ((1 - answer) - expected).abs().max() < 1e-6:
        raise _fail(exercise, "you returned 1 - D*: your D is high where the fakes are. D* is "
                              "p_data / (p_data + p_g), near 1 where only real data lives (x < 0).")
    middle = answer[(x - 1).abs().argmin()].item()
    raise _fail(exercise, f"your D*(x) is off by up to {error:.3g} (D*(1) should be 0.5, yours is {middle:.4g}). "
                          "Write log p_data(x) - log p_g(x) out: the x² terms cancel.")


def non_saturating_loss(loss: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Lesson 01: loss(fake_logits) must be mean -log D(G(z)) from logits, exact even for very negative logits."""
    exercise = "Exercise 2 (the non-saturating generator loss)"
    logits = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    value = _call(exercise, loss, logits)
    if isinstance(value, torch.Tensor) and value.numel() == len(logits) and value.ndim == 1:
        raise _fail(exercise, "return one number, the mean over the batch, not one loss per sample")
    value = _as_tensor(exercise, value, "the loss", ())
    expected = non_saturating_generator_loss(logits.detach()).item()
    if not math.isclose(value.item(), expected, rel_tol=1e-6):
        raise _fail(exercise, _non_saturating_mistake(value.item(), expected, logits.detach(), len(logits)))
    _gradient_flows(exercise, loss, logits)
    extreme = float(_call(exercise, loss, torch.tensor([-200.0, 0.0])))
    if not math.isfinite(extreme) or abs(extreme - 100.3466) > 1e-3:
        raise _fail(exercise, "at a logit of -200 (a fake D is sure about) your loss is not 100.35 = (200 + log 2) / 2: "
                              "log(sigmoid(-200)) underflows to log(0). Use F.logsigmoid or F.softplus(-logit).")
    _passed(exercise, "mean softplus(-logit) = -log D(G(z)), exact from logits, with a gradient that "
                      "is largest where the generator is worst.")


def _non_saturating_mistake(value: float, expected: float, logits: torch.Tensor, n: int) -> str:
    """Name the usual wrong versions of the non-saturating loss."""
    if math.isclose(value, -expected, rel_tol=1e-6):
        return "the sign is flipped: the generator minimises -log D(G(z)), which goes down as D believes the fakes"
    if math.isclose(value, saturating_generator_loss(logits).item(), rel_tol=1e-6):
        return "that is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z))"
    if math.isclose(value, expected * n, rel_tol=1e-6):
        return f"your value is the sum over the batch ({n} times the mean); return the mean"
    return f"for logits {logits.tolist()} the loss is {expected:.4f}, yours is {value:.4f}"


def _gradient_flows(exercise: str, loss: Callable, logits: torch.Tensor) -> None:
    """The loss must be differentiable with respect to the logits, with the right gradient."""
    value = loss(logits)
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        raise _fail(exercise, "no gradient reaches the logits: build the loss from torch operations on `fake_logits` "
                              "(no .item(), .detach() or NumPy in between)")
    (gradient,) = torch.autograd.grad(value, logits)
    expected = -(1 - torch.sigmoid(logits.detach())) / len(logits)
    if not torch.allclose(gradient, expected, atol=1e-9):
        raise _fail(exercise, "the value is right but the gradient is not -(1 - D) / batch: is something detached?")


def value_against_optimal_discriminator(value: Callable[[torch.Tensor, torch.Tensor, float], float]) -> None:
    """Lesson 01: value(p_data, p_g, dx) must be V(D*, G) = ∫ p_data log D* + p_g log(1 - D*) dx on a grid."""
    exercise = "Exercise 3 (the value against the optimal discriminator)"
    x = torch.linspace(-6, 8, 2801, dtype=torch.float64)
    dx = float(x[1] - x[0])
    uniform = lambda low: ((x >= low) & (x < low + 1)).double()  # noqa: E731 (density 1 on [low, low + 1))
    cases = {"p_data = N(0, 1), p_g = N(2, 0.7²)": (gaussian_density(x, 0, 1), gaussian_density(x, 2, 0.7)),
             "a perfect generator, p_g = p_data = N(0, 1)": (gaussian_density(x, 0, 1), gaussian_density(x, 0, 1)),
             "two uniform densities that half overlap (zero elsewhere)": (uniform(0.0), uniform(0.5))}
    for name, (p_data, p_g) in cases.items():
        answer = _as_tensor(exercise, _call(exercise, value, p_data.clone(), p_g.clone(), dx), f"V for {name}", (),
                            nan_hint=". Two traps: where a density is 0 its term is 0, but 0 × log 0 is NaN; and "
                                     "far in the tails D* rounds to exactly 0 or 1, so log D* or log(1 - D*) is "
                                     "-inf. Write p log D* = p log p - p log(p_data + p_g) and use torch.xlogy(a, b)"
                                     ", which is a log b with 0 log 0 = 0.").item()
        total = p_data + p_g
        expected = float((torch.xlogy(p_data, p_data) - torch.xlogy(p_data, total)
                          + torch.xlogy(p_g, p_g) - torch.xlogy(p_g, total)).sum() * dx)
        if not math.isclose(answer, expected, rel_tol=1e-4, abs_tol=1e-6):
            raise _fail(exercise, f"for {name} V(D*, G) is {expected:.4f}, yours is {answer:.4f}."
                                  + _value_hint(answer, expected, dx))
    _passed(exercise, f"a perfect generator gets V = -log 4 = {-math.log(4):.4f}, the minimum: D* is 1/2 "
                      "everywhere, and every other generator gets more.")


def _value_hint(answer: float, expected: float, dx: float) -> str:
    """Name the usual mistakes in integrating V on a grid."""
    if math.isclose(answer, expected / dx, rel_tol=1e-4):
        return f" Yours is the plain sum, 1/dx = {1 / dx:.0f} times too large: multiply by dx."
    if math.isclose(answer, -expected, rel_tol=1e-4):
        return " The sign is flipped: V is a sum of logs of probabilities, so it is never positive."
    return " V(D*, G) = ∫ p_data log D* + p_g log(1 - D*) dx with D* = p_data / (p_data + p_g)."


def generator_step_by_hand(step: Callable[..., Any]) -> None:
    """Lesson 01: step(generator, discriminator, optimizer, z) must take one optimizer step of G on the
    non-saturating loss of D's logits on G(z), from fresh gradients, leave D's weights alone and return the loss."""
    exercise = "Exercise 4 (the generator's step)"
    with isolated_rng(0):
        generator = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1))
        discriminator = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1),
                                            torch.nn.Flatten(0))
        noises = [torch.randn(32, 1) for _ in range(2)]
    d_before = [weight.detach().clone() for weight in discriminator.parameters()]
    learner_g = copy.deepcopy(generator)
    optimizer = torch.optim.SGD(learner_g.parameters(), lr=0.1)  # plain SGD: the step is the gradient, exactly
    losses = [_call(exercise, step, learner_g, discriminator, optimizer, z) for z in noises]
    if any(not torch.equal(w.detach(), before) for w, before in zip(discriminator.parameters(), d_before)):
        raise _fail(exercise, "your step changed D's weights: in G's step only G's optimizer steps")
    versions = {name: _reference_generator_steps(generator, discriminator, noises, loss, zero_grad)
                for name, loss, zero_grad in (("right", non_saturating_generator_loss, True),
                                              ("saturating", saturating_generator_loss, True),
                                              ("no zero_grad", non_saturating_generator_loss, False))}
    _compare_generator_step(exercise, learner_g, generator, versions)
    for loss, expected in zip(losses, versions["right"][1]):
        value = float(loss.detach()) if isinstance(loss, torch.Tensor) and loss.numel() == 1 else loss
        if not isinstance(value, (float, int)) or not math.isclose(value, expected, rel_tol=1e-4):
            raise _fail(exercise, f"G moved as it should, but return the loss of the step as a number "
                                  f"(here {expected:.4f}), got {loss!r}")
    _passed(exercise, "G's weights moved exactly as one gradient step on -log D(G(z)) moves them, each step from "
                      "fresh gradients, and D's weights are untouched.")


def _reference_generator_steps(generator: torch.nn.Module, discriminator: torch.nn.Module, noises: list[torch.Tensor],
                               loss_fn: Callable, zero_grad: bool) -> tuple[torch.nn.Module, list[float]]:
    """G after one step per noise batch, done one way (right or a usual mistake), and the losses of the steps."""
    generator, discriminator = copy.deepcopy(generator), copy.deepcopy(discriminator)
    optimizer, losses = torch.optim.SGD(generator.parameters(), lr=0.1), []
    for z in noises:
        loss = loss_fn(discriminator(generator(z)))
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return generator, losses


def _compare_generator_step(exercise: str, learner_g: torch.nn.Module, start: torch.nn.Module,
                            versions: dict[str, tuple[torch.nn.Module, list[float]]]) -> None:
    """Compare the learner's G after two steps with the right one, naming the usual mistakes."""
    def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
        return all(torch.allclose(x.detach(), y.detach(), atol=1e-6) for x, y in zip(a.parameters(), b.parameters()))
    if same(learner_g, versions["right"][0]):
        return
    if same(learner_g, start):
        raise _fail(exercise, "G's weights did not change: compute the loss on D(G(z)) without .detach() or "
                              "torch.no_grad(), then call loss.backward() and optimizer.step()")
    if same(learner_g, versions["saturating"][0]):
        raise _fail(exercise, "that is the saturating loss log(1 - D(G(z))); G's step minimises -log D(G(z))")
    if same(learner_g, versions["no zero_grad"][0]):
        raise _fail(exercise, "the second step also used the first step's gradient: call optimizer.zero_grad() "
                              "before loss.backward(), since backward adds to the gradients already there")
    raise _fail(exercise, "after two steps G's weights differ from one optimizer step per call on the mean of "
                          "-log D(G(z)) over the batch `z` (use the `z` you are given; draw no noise of your own)")


# --- lesson 02 -------------------------------------------------------------------------------------------------
def inception_score_by_hand(score: Callable[[torch.Tensor], float]) -> None:
    """Lesson 02: score(probs) must be exp(mean KL(p(y|x) || p(y))) for class probabilities [N, classes]."""
    exercise = "Exercise 1 (the Inception Score by hand)"
    one_hot = torch.eye(10, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    cases = {"one clear digit, always the same": one_hot[[3] * 100],
             "ten clear digits, equally often": one_hot.repeat(10, 1),
             "unsure predictions": torch.softmax(torch.randn(200, 10, generator=generator, dtype=torch.float64), 1),
             "five digits, fairly sure": torch.softmax(4 * one_hot[torch.arange(300) % 5]
                                                       + torch.randn(300, 10, generator=generator), 1)}
    for name, probs in cases.items():
        answer = _as_tensor(exercise, _call(exercise, score, probs.clone()), f"the score of {name}", (),
                            nan_hint=": 0 × log 0 gives NaN where a class has probability 0, though its term is 0. "
                                     "Clamp the probabilities (probs.clamp_min(1e-12)) before taking logs.")
        expected = inception_score(probs)
        if not math.isclose(answer.item(), expected, rel_tol=1e-4, abs_tol=1e-6):
            raise _fail(exercise, _inception_mistake(name, answer.item(), expected, probs))
    _passed(exercise, "it matches ganlib's score on four cases (one digit repeated, ten digits equally often, "
                      "unsure predictions, five fairly sure digits). Compare the scores printed below with your "
                      "predictions.")


def _inception_mistake(case: str, answer: float, expected: float, probs: torch.Tensor) -> str:
    """Name the usual wrong versions of the Inception Score."""
    probs = probs.clamp_min(1e-12)
    marginal = probs.mean(0, keepdim=True)
    reversed_kl = float(torch.exp((marginal * (marginal.log() - probs.log())).sum(1).mean()))
    hint = ""
    if math.isclose(answer, math.log(expected), rel_tol=1e-4, abs_tol=1e-6):
        hint = " Your value is the log of the score: take exp of the mean KL."
    elif math.isclose(answer, reversed_kl, rel_tol=1e-3):
        hint = " The KL is the wrong way round: it is KL(p(y|x) || p(y)), each sample's prediction first."
    elif answer < 1 - 1e-6:
        hint = " An IS is never below 1, because a KL divergence is never negative."
    return f"for {case} the score is {expected:.4f}, yours is {answer:.4f}.{hint}"


def discriminator_step_loss(step_loss: Callable[..., torch.Tensor]) -> None:
    """Lesson 02: step_loss(discriminator, generator, real, z, real_label) must be D's cross-entropy with one-sided
    label smoothing (real samples against `real_label`, fakes against 0), the fakes detached from the generator."""
    exercise = "Exercise 2 (the discriminator's loss with label smoothing, and the .detach())"
    with isolated_rng(0):  # the learner's global RNG is left as it was
        generator = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh())
        discriminator = torch.nn.Sequential(torch.nn.Linear(8, 1), torch.nn.Flatten(0))
        real, z = torch.randn(16, 8), torch.randn(16, 4)
    with torch.no_grad():
        real_logits, fake_logits = discriminator(real), discriminator(generator(z))
    for real_label in (1.0, 0.9):
        loss = _call(exercise, step_loss, discriminator, generator, real, z, real_label)
        value = _as_tensor(exercise, loss, "the loss", ()).item()
        expected = discriminator_loss(real_logits, fake_logits, real_label).item()
        if not math.isclose(value, expected, rel_tol=1e-5):
            raise _fail(exercise, _discriminator_mistake(value, expected, real_logits, fake_logits, real_label))
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise _fail(exercise, "no gradient reaches the discriminator: keep the loss a tensor (no .item())")
    loss.backward()
    if any(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters()):
        raise _fail(exercise, "gradients reached the generator: its parameters got a .grad from D's loss. "
                              "Call .detach() on the fakes, so that D's step neither updates nor charges G.")
    _passed(exercise, "real samples are scored against the smoothed label, fakes against 0, and the fakes are "
                      "detached, so D's backward pass stops at them and G is untouched.")


def _discriminator_mistake(value: float, expected: float, real_logits: torch.Tensor, fake_logits: torch.Tensor,
                           real_label: float) -> str:
    """Name the usual wrong versions of the discriminator's loss."""
    bce = F.binary_cross_entropy_with_logits
    versions = {
        "real and fake are swapped: D should call real samples real (the label) and fakes 0":
            discriminator_loss(fake_logits, real_logits, real_label).item(),
        "the smoothing is two-sided: only the real samples' target moves from 1 to real_label; fakes stay at 0":
            (bce(real_logits, torch.full_like(real_logits, real_label))
             + bce(fake_logits, torch.full_like(fake_logits, 1 - real_label))).item(),
        "the label is ignored: with real_label < 1, real samples are scored against real_label, not 1":
            discriminator_loss(real_logits, fake_logits).item()}
    for problem, wrong in versions.items():
        if math.isclose(value, wrong, rel_tol=1e-5) and not math.isclose(wrong, expected, rel_tol=1e-5):
            return problem
    return (f"with real_label={real_label} the loss should be {expected:.4f} (the BCE of D's logits on real "
            f"samples against real_label plus on fakes against 0, each averaged), yours is {value:.4f}")


def ema_update_by_hand(update: Callable[[torch.nn.Module, torch.nn.Module, float], Any]) -> None:
    """Lesson 02: update(averaged, live, decay) must move each weight of `averaged`, in place, to
    decay * averaged + (1 - decay) * live, and leave `live` alone."""
    exercise = "Exercise 3 (the weight average of G)"
    with isolated_rng(0):
        live = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LeakyReLU(0.2), torch.nn.Linear(3, 2))
        start = copy.deepcopy(live)
        for weight in start.parameters():
            weight.data += torch.randn_like(weight)
    live_before = [weight.detach().clone() for weight in live.parameters()]
    for decay in (0.9, 0.0, 1.0):
        averaged = copy.deepcopy(start)
        try:
            _call(exercise, update, averaged, live, decay)
        except CheckFailed as failure:
            hint = " Wrap the update in `with torch.no_grad():`: the weights are leaves that need gradients, " \
                   "so autograd refuses to change them in place." if "leaf Variable" in str(failure) else ""
            raise _fail(exercise, str(failure).split(": ", 1)[1] + hint) from failure
        if any(not torch.equal(w, before) for w, before in zip(live.parameters(), live_before)):
            raise _fail(exercise, "your function changed the live network: only the average moves")
        _compare_average(exercise, averaged, start, live, decay)
    _passed(exercise, "each averaged weight moved the share 1 − decay of the way to the live weight, in place, "
                      "and the live network is untouched.")


def _compare_average(exercise: str, averaged: torch.nn.Module, start: torch.nn.Module, live: torch.nn.Module,
                     decay: float) -> None:
    """Compare the learner's averaged weights with the expected ones, naming the usual mistakes."""
    pairs = list(zip(averaged.parameters(), start.parameters(), live.parameters()))
    def matches(share: float) -> bool:
        return all(torch.allclose(a.detach(), (1 - share) * s + share * l, atol=1e-6) for a, s, l in pairs)
    if matches(1 - decay):
        return
    if all(torch.equal(a.detach(), s) for a, s, _ in pairs):
        problem = "the averaged network did not change: update its weights in place (for example " \
                  "`average.mul_(decay).add_(live, alpha=1 - decay)`), not a copy or a new module"
    elif matches(decay):
        problem = "decay and 1 - decay are swapped: decay is the share the average *keeps* (0.999 keeps most of it)"
    else:
        problem = f"with decay={decay} each averaged weight should be decay · averaged + (1 − decay) · live"
    raise _fail(exercise, problem)


# --- lesson 03 -------------------------------------------------------------------------------------------------
def high_quality_share(share: Callable[[float], float]) -> None:
    """Lesson 03: share(k) must be the fraction of a 2-D isotropic Gaussian within k standard deviations."""
    exercise = "Exercise 1 (the share of high-quality samples of a perfect generator)"
    for k in (1.0, 2.0, 3.0):
        answer = _as_tensor(exercise, _call(exercise, share, k), f"share({k:g})", ()).item()
        expected = 1 - math.exp(-k * k / 2)
        if math.isclose(answer, expected, rel_tol=1e-6):
            continue
        one_dimensional = math.erf(k / math.sqrt(2))
        if math.isclose(answer, 100 * expected, rel_tol=1e-6):
            raise _fail(exercise, "return a fraction between 0 and 1, not a percentage")
        if math.isclose(answer, one_dimensional, rel_tol=1e-4):
            raise _fail(exercise, f"{answer:.4f} for k = {k:g} is the share within k σ on a line (1-D). In 2-D, "
                                  "r² / σ² is χ² with 2 degrees of freedom, whose CDF is 1 - exp(-t / 2).")
        if math.isclose(answer, 1 - expected, rel_tol=1e-6):
            raise _fail(exercise, "that is the share *outside* k σ; the question asks for the share inside")
        raise _fail(exercise, f"for k = {k:g} the share is {expected:.4f}, yours is {answer:.4f}")
    _passed(exercise, f"within 3 σ lies {1 - math.exp(-4.5):.2%} of a 2-D Gaussian, less than the 99.73% on a "
                      "line: a second dimension gives a sample two chances to stray.")


def mode_coverage_by_hand(count: Callable[[torch.Tensor, torch.Tensor, float], tuple[int, float]]) -> None:
    """Lesson 03: count(samples, centers, std) must return (modes covered, high-quality share in %), counted as
    VEEGAN and PacGAN do: high quality within 3 std of the nearest mode; covered with >= 0.8% of all samples."""
    exercise = "Exercise 2 (counting modes as VEEGAN and PacGAN do)"
    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    std = 0.1
    with isolated_rng(0):
        near = lambda mode, n, spread=std: centers[mode] + spread * torch.randn(n, 2)  # noqa: E731
        tight = std / 2  # every such sample lies within 3 std: P(r > 6 spread) = exp(-18)
        cases = {"samples on all four modes": torch.cat([near(m, 500) for m in range(4)]),
                 "one mode, plus 19 of 2,500 samples (0.76%) on a second":
                     torch.cat([near(0, 2481, tight), near(1, 19, tight)]),
                 "one mode, plus 20 of 2,500 samples (0.8%) on a second":
                     torch.cat([near(0, 2480, tight), near(1, 20, tight)]),
                 "samples spread between the modes": torch.rand(2000, 2) * 4}
    for name, samples in cases.items():
        answer = _call(exercise, count, samples.clone(), centers, std)
        if not isinstance(answer, tuple) or len(answer) != 2:
            raise _fail(exercise, "return a pair: (modes covered, high-quality share in percent)")
        expected = mode_metrics(samples, centers, std)
        covered, share = float(answer[0]), float(answer[1])
        if math.isclose(share, expected["high_quality"] / 100, rel_tol=1e-3, abs_tol=1e-6) and expected["high_quality"]:
            raise _fail(exercise, "give the high-quality share in percent (0 to 100), as mode_metrics does")
        if not math.isclose(share, expected["high_quality"], rel_tol=1e-3, abs_tol=1e-3):
            raise _fail(exercise, f"for {name} the high-quality share is {expected['high_quality']:.2f}%, yours "
                                  f"is {share:.2f}%: a sample is high quality if it lies within 3 std of the "
                                  "centre nearest to it")
        if covered != expected["modes_covered"]:
            raise _fail(exercise, f"for {name}, {expected['modes_covered']:.0f} modes are covered, you counted "
                                  f"{covered:g}: a mode is covered when at least 0.8% of *all* samples are "
                                  "high-quality samples of it (20 of 2,500)")
    _passed(exercise, "a covered mode needs 0.8% of the samples near it, so a few stray points do not count, "
                      "and the high-quality share says how precisely the generator hits the modes it covers.")

FAILURES = ("vanishing gradient", "mode collapse", "mode hopping")
_FAILURE_ANSWERS = {"A": "mode hopping", "B": "vanishing gradient", "C": "mode collapse"}  # ganlib.failure_logs
_FAILURE_EVIDENCE = {  # what to look at again, without naming the answer
    "vanishing gradient": "compare G's gradient norm with the other two runs (the scale is logarithmic): how far "
                          "can a generator move on that?",
    "mode collapse": "read its heat map from left to right: where does the generator's mass sit in the second "
                     "half of training, and does it leave?",
    "mode hopping": "read its heat map from left to right: does its mass stay on the same modes, or move?"}


def named_failures(name: Callable[[], dict[str, str]]) -> None:
    """Lesson 03: name() must return {"A": failure, "B": failure, "C": failure} for the three logged runs of
    `ganlib.failure_logs`, each failure one of FAILURES."""
    exercise = "Exercise 3 (name each failure)"
    answer = _call(exercise, name)
    if not isinstance(answer, dict) or set(answer) != set(_FAILURE_ANSWERS):
        raise _fail(exercise, f"return a dict with one entry per run, keys {sorted(_FAILURE_ANSWERS)}, got {answer!r}")
    for letter in sorted(answer):
        if answer[letter] not in FAILURES:
            raise _fail(exercise, f"run {letter}: name one of {FAILURES}, got {answer[letter]!r}")
    wrong = sorted(letter for letter, failure in answer.items() if failure != _FAILURE_ANSWERS[letter])
    if wrong:
        raise _fail(exercise, f"not yet: {len(wrong)} of 3 named wrong. Run {wrong[0]}: "
                              f"{_FAILURE_EVIDENCE[_FAILURE_ANSWERS[wrong[0]]]}")
    _passed(exercise, "each run named from its evidence: the gradient that carries G, and where its samples sit "
                      "over time.")


# --- lesson 04 -------------------------------------------------------------------------------------------------
def gradient_penalty_by_hand(penalty: Callable[..., torch.Tensor]) -> None:
    """Lesson 04: penalty(critic, real, fake) must be WGAN-GP's mean (||∇ critic(x̂)|| - 1)² over a batch, at
    x̂ = ε real + (1 - ε) fake with ε ~ U(0, 1) drawn per sample, differentiable with respect to the critic."""
    exercise = "Exercise 1 (the gradient penalty)"
    with isolated_rng(0):  # the learner's global RNG is left as it was
        critic = torch.nn.Sequential(torch.nn.Linear(4, 1, bias=False), torch.nn.Flatten(0))
        with torch.no_grad():
            critic[0].weight.copy_(torch.tensor([[0.6, 0.8, 1.2, 0.0]]))  # |w| = 1.562, the same gradient everywhere
        real, fake = torch.randn(64, 4), torch.randn(64, 4)
        value = _call(exercise, penalty, critic, real, fake)
    _linear_critic_penalty(exercise, value, critic[0].weight, len(real))
    bowl = lambda x: 0.5 * (x ** 2).sum(1)  # noqa: E731 (its gradient at x is x itself)
    with isolated_rng(1):
        directions = torch.nn.functional.normalize(torch.randn(4000, 4), dim=1)
        values = [_as_tensor(exercise, _call(exercise, penalty, bowl, directions, 3 * directions), "the penalty",
                             ()).item() for _ in range(3)]
    _interpolation_mistake(exercise, values)
    _passed(exercise, "a critic with a constant gradient w is charged (|w| - 1)² wherever x̂ falls, and random "
                      "points between real and fake samples cover the space the critic must keep 1-Lipschitz.")


def _linear_critic_penalty(exercise: str, value: Any, weight: torch.Tensor, n: int) -> None:
    """For the critic f(x) = w·x the penalty is (|w| - 1)² exactly, and it must reach w's gradient."""
    answer = _as_tensor(exercise, value, "the penalty", ()).item()
    norm = float(weight.detach().norm())
    if not math.isclose(answer, (norm - 1) ** 2, rel_tol=1e-4):
        known = {(norm ** 2 - 1) ** 2: "you used the squared norm |∇f|² where WGAN-GP takes the norm |∇f|",
                 norm ** 2: "the penalty is (|∇f| - 1)², not |∇f|²: it pulls the norm towards 1, not 0",
                 n * (norm - 1) ** 2: "you summed over the batch: take the mean",
                 (norm * math.sqrt(n) - 1) ** 2: "take each sample's gradient norm (over dim 1), then the mean; "
                                                 "not one norm over the whole batch"}
        problem = next((text for wrong, text in known.items() if math.isclose(answer, wrong, rel_tol=1e-4)),
                       f"for a linear critic f(x) = w·x with |w| = {norm:.3f} the penalty is (|w| - 1)² = "
                       f"{(norm - 1) ** 2:.4f}, yours is {answer:.4f}")
        raise _fail(exercise, problem)
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        raise _fail(exercise, "no gradient reaches the critic's weights, so the penalty cannot train the critic: "
                              "call torch.autograd.grad(..., create_graph=True) and keep the result a tensor")
    (gradient,) = torch.autograd.grad(value, weight)
    if gradient.abs().sum() == 0:
        raise _fail(exercise, "the penalty's gradient with respect to the critic's weights is zero: "
                              "use create_graph=True in torch.autograd.grad")


def _interpolation_mistake(exercise: str, values: list[float]) -> None:
    """For f(x) = |x|²/2, real x = u and fake x = 3u (unit u), the penalty is E[(2ε)²] = 4/3 with ε ~ U(0, 1)."""
    expected = 4 / 3  # the mean of 4000 samples has a standard deviation of 0.019
    if all(abs(value - expected) < 0.1 for value in values):
        return
    shown = ", ".join(f"{value:.3f}" for value in values)
    if all(abs(value) < 1e-6 for value in values):
        problem = "you evaluated the gradient at the real samples only"
    elif all(abs(value - 4) < 1e-4 for value in values):
        problem = "you evaluated the gradient at the fake samples only"
    elif all(abs(value - 1) < 1e-4 for value in values):
        problem = "ε must be random, not fixed at 0.5"
    elif max(values) > 100:
        problem = "take each sample's gradient norm (over dim 1), then the mean; not one norm over the whole batch"
    else:
        problem = "draw ε ~ U(0, 1) once per sample (torch.rand(batch, 1)), not once for the whole batch"
    raise _fail(exercise, f"{problem}. Test: f(x) = |x|²/2, real points u and fakes 3u on the unit sphere, where "
                          f"the penalty averages (2ε)² to 4/3 = 1.333; three calls gave {shown}.")


GRADIENT_VERDICTS = ("exploding", "vanishing", "healthy")


def critic_gradient_diagnosis(diagnose: Callable[[list[float]], str]) -> None:
    """Lesson 04: diagnose(norms) must name a critic's per-layer gradient norms (input side first) 'exploding' when
    the first layer's is over 100 times the last layer's, 'vanishing' when under 1/100 of it, else 'healthy'."""
    exercise = "Exercise 3 (diagnose a critic from its gradients)"
    cases = {"growing 4 times per layer towards the input": ([4.0 ** (12 - k) for k in range(12)], "exploding"),
             "shrinking 14 times per layer towards the input": ([14.0 ** -(12 - k) for k in range(12)], "vanishing"),
             "underflowed to exactly 0 in the first layers": ([0.0, 0.0, 1e-30] + [1e-3] * 9, "vanishing"),
             "about the same at every layer": ([0.06, 0.05, 0.07, 0.06, 0.058], "healthy"),
             "50 times larger at the input (inside the band)": ([50.0, 5.0, 1.0], "healthy"),
             "a single layer": ([0.3], "healthy")}
    for name, (norms, expected) in cases.items():
        answer = _call(exercise, diagnose, list(norms))
        if answer not in GRADIENT_VERDICTS:
            raise _fail(exercise, f"return one of {GRADIENT_VERDICTS}, got {answer!r}")
        if answer != expected:
            hint = (" Compare the first layer (next to the input) with the last, not the other way round."
                    if {answer, expected} == {"exploding", "vanishing"} else
                    " An exact 0 is the extreme of vanishing: divide with care, or compare products instead."
                    if norms[0] == 0.0 else " The band is a factor of 100 either way.")
            raise _fail(exercise, f"norms {name} are {expected!r}, your function said {answer!r}.{hint}")
    _passed(exercise, "each verdict compares the gradient next to the input with the one at the output, with a "
                      "factor of 100 either way.")


def w1_from_samples(distance: Callable[[torch.Tensor, torch.Tensor], float]) -> None:
    """Lesson 04: distance(a, b) must be the Wasserstein-1 distance between two 1-D samples of equal size."""
    exercise = "Exercise 2 (the earth mover's distance between two samples)"
    with isolated_rng(0):
        pairs = {"N(0, 1) against N(3, 1)": (torch.randn(5000), torch.randn(5000) + 3),
                 "N(0, 1) against N(0, 2²), the same mean": (torch.randn(5000), 2 * torch.randn(5000)),
                 "N(0, 1) against a 50/50 mixture of N(-2, 0.5²) and N(2, 0.5²)":
                     (torch.randn(5000), 0.5 * torch.randn(5000) + 4 * (torch.rand(5000) < 0.5) - 2)}
    for name, (a, b) in pairs.items():
        answer = _as_tensor(exercise, _call(exercise, distance, a.clone(), b.clone()), f"W1 for {name}", ()).item()
        expected = float((a.sort().values - b.sort().values).abs().mean())
        if math.isclose(answer, expected, rel_tol=1e-4):
            continue
        unsorted = float((a - b).abs().mean())
        if math.isclose(answer, unsorted, rel_tol=1e-4):
            problem = ("you paired the samples in the order they came: the cheapest transport pairs them in sorted "
                       "order (the smallest with the smallest), so sort both first")
        elif math.isclose(answer, abs(float(a.mean() - b.mean())), rel_tol=1e-4, abs_tol=1e-6):
            problem = ("that is the distance between the means, which misses every change of shape: "
                       "take the mean of |a_sorted - b_sorted|")
        else:
            problem = f"W1 is {expected:.4f}, yours is {answer:.4f}"
        raise _fail(exercise, f"for {name}: {problem}")
    _passed(exercise, "in 1-D the cheapest way to move one sample onto another is to match them in sorted order, "
                      "so W1 is the mean gap between the sorted samples: it sees a change of spread, not only of mean.")


# --- lesson 05 -------------------------------------------------------------------------------------------------
def upsampling_block(block: Callable[[int, int], torch.nn.Module]) -> None:
    """Lesson 05: block(cin, cout) must double a [N, cin, H, W] map to [N, cout, 2H, 2W]: a transposed convolution
    (kernel 4, stride 2, padding 1), batch norm and ReLU, with DCGAN's N(0, 0.02) initialisation."""
    exercise = "Exercise 1 (the generator's upsampling block)"
    with isolated_rng(0):
        for cin, cout, size in ((128, 64, 7), (64, 32, 14), (16, 8, 3)):
            layer = _call(exercise, block, cin, cout)
            if not isinstance(layer, torch.nn.Module):
                raise _fail(exercise, f"return a torch network (nn.Module, e.g. nn.Sequential), got {type(layer).__name__}")
            _check_upsampling_layers(exercise, layer, cin, cout)
            layer.train()
            out = _call(exercise, layer, torch.randn(64, cin, size, size))
            out = _as_tensor(exercise, out, f"block({cin}, {cout}) applied to [64, {cin}, {size}, {size}]",
                             (64, cout, 2 * size, 2 * size))
            _check_relu_after_norm(exercise, out)
    _passed(exercise, "each block doubles the map's height and width, and with batch norm before the ReLU half the "
                      "units fire for any scale of the input: G's layers keep learning from the first step.")


def _check_upsampling_layers(exercise: str, block: torch.nn.Module, cin: int, cout: int) -> None:
    """The block's layers: one 4 × 4, stride-2 transposed convolution, DCGAN-initialised, then BatchNorm2d and ReLU."""
    layers = list(block.modules())
    convs = [layer for layer in layers if isinstance(layer, torch.nn.ConvTranspose2d)]
    if len(convs) != 1:
        raise _fail(exercise, f"use exactly one nn.ConvTranspose2d, found {len(convs)}")
    conv = convs[0]
    if (conv.in_channels, conv.out_channels) != (cin, cout) or conv.kernel_size != (4, 4) or conv.stride != (2, 2) \
            or conv.padding != (1, 1):
        raise _fail(exercise, f"the transposed convolution should be ConvTranspose2d({cin}, {cout}, kernel_size=4, "
                              f"stride=2, padding=1), got {conv}")
    if not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in layers):
        raise _fail(exercise, "add nn.BatchNorm2d after the transposed convolution (DCGAN's batch-norm rule)")
    if any(isinstance(layer, (torch.nn.LeakyReLU, torch.nn.Tanh)) for layer in layers):
        raise _fail(exercise, "DCGAN's generator uses plain nn.ReLU inside (LeakyReLU is for D, tanh for G's output)")
    std = float(conv.weight.detach().std())
    if not 0.018 < std < 0.022 or abs(float(conv.weight.detach().mean())) > 0.002:
        raise _fail(exercise, f"the transposed convolution's weights have mean {float(conv.weight.detach().mean()):.4f} and "
                              f"std {std:.4f}; DCGAN draws them from N(0, 0.02): call dcgan_initialise (or "
                              "nn.init.normal_(weight, 0.0, 0.02)) on the block")


def _check_relu_after_norm(exercise: str, out: torch.Tensor) -> None:
    """After batch norm then ReLU, outputs are never negative and about half of them are 0 in training mode."""
    if float(out.min()) < 0:
        raise _fail(exercise, "the block's output has negative values: end it with nn.ReLU()")
    zero_share = float((out == 0).double().mean())
    if not 0.35 < zero_share < 0.65:
        raise _fail(exercise, f"{zero_share:.0%} of the outputs are 0, not about half: put nn.BatchNorm2d between "
                              "the transposed convolution and the ReLU, so each channel is centred before it")


DCGAN_RULES = {
    "no_pooling": "D shrinks its maps with strided convolutions, not pooling layers",
    "batch_norm_in_g": "G has batch norm after its hidden layers",
    "tanh_output": "G's last layer is tanh, so images lie in [-1, 1] like the data",
    "leaky_relu_in_d": "D's activations are LeakyReLU, not ReLU",
}


def _broken_networks() -> list[tuple[set[str], torch.nn.Module, torch.nn.Module]]:
    """DCGAN-shaped pairs for 28 × 28 digits, each with a known set of rules broken."""
    nn = torch.nn
    def pair(broken: set[str]) -> tuple[set[str], nn.Module, nn.Module]:
        generator, discriminator = ConvGenerator(100, (28, 28), width=16, blocks=2), ConvDiscriminator((28, 28), 16, 2)
        if "batch_norm_in_g" in broken:
            replace_layers(generator, (nn.BatchNorm1d, nn.BatchNorm2d), lambda _: nn.Identity())
        if "tanh_output" in broken:
            replace_layers(generator, nn.Tanh, lambda _: nn.Sigmoid())
        if "leaky_relu_in_d" in broken:
            replace_layers(discriminator, nn.LeakyReLU, lambda _: nn.ReLU())
        if "no_pooling" in broken:
            replace_layers(discriminator, nn.Conv2d, lambda conv: nn.Sequential(
                nn.Conv2d(conv.in_channels, conv.out_channels, 3, padding=1), nn.MaxPool2d(2)))
        return broken, generator, discriminator
    cases = [set(), {"batch_norm_in_g"}, {"tanh_output"}, {"leaky_relu_in_d"}, {"no_pooling"},
             {"batch_norm_in_g", "leaky_relu_in_d"}, {"tanh_output", "no_pooling"}, set(DCGAN_RULES)]
    return [pair(broken) for broken in cases]


def broken_dcgan_rules(audit: Callable[[torch.nn.Module, torch.nn.Module], set]) -> None:
    """Lesson 05: audit(generator, discriminator) must return the set of DCGAN_RULES names the pair breaks."""
    exercise = "Exercise 2 (which of DCGAN's rules does this pair break?)"
    with isolated_rng(0):
        cases = _broken_networks()
    for broken, generator, discriminator in cases:
        answer = _call(exercise, audit, generator, discriminator)
        if not isinstance(answer, (set, frozenset)):
            raise _fail(exercise, f"return a set of rule names, got {type(answer).__name__}")
        if set(answer) - set(DCGAN_RULES):
            raise _fail(exercise, f"{sorted(set(answer) - set(DCGAN_RULES))} are not rule names; use the keys of "
                                  f"check.DCGAN_RULES: {sorted(DCGAN_RULES)}")
        if set(answer) != broken:
            missed, extra = sorted(broken - set(answer)), sorted(set(answer) - broken)
            raise _fail(exercise, f"for a pair that breaks {sorted(broken) or 'no rule'}, you found "
                                  f"{sorted(answer) or 'none'}" + (f"; missed {missed}" if missed else "")
                                  + (f"; wrongly flagged {extra}" if extra else "")
                                  + ". Walk every layer with network.modules() and look at each layer's type.")
    _passed(exercise, f"all {len(cases)} pairs audited right, from a faithful DCGAN to one that breaks every rule.")


# --- lesson 06 -------------------------------------------------------------------------------------------------
def clipped_shares(shares: Callable[[torch.Tensor, torch.Tensor], Any]) -> None:
    """Lesson 06: shares(images, inside) must give the fractions of the pixels inside recordings (`inside`: [N, frames]
    booleans) that sit at the floor (-1, clipped at -3σ) and at the ceiling (+1, clipped at +3σ)."""
    exercise = "Exercise 1 (what does clipping at ±3σ cut?)"
    with isolated_rng(0):
        images = (torch.rand(20, 1, 128, 64) * 2.4 - 1.3).clamp(-1, 1)  # about 12% at the floor, 4% at the ceiling
        inside = torch.arange(64) < torch.randint(20, 64, (20, 1))  # each recording's frames
    images[:, 0].transpose(1, 2)[~inside] = -1.0  # the zero padding after each recording: silence
    answer = _as_tensor(exercise, _call(exercise, shares, images.clone(), inside.clone()),
                        "the (floor, ceiling) pair", (2,))
    pixels = images[:, 0].transpose(1, 2)[inside]  # [frames inside recordings, bins]
    expected = torch.tensor([float((pixels <= -1).double().mean()), float((pixels >= 1).double().mean())],
                            dtype=torch.float64)
    if torch.allclose(answer, expected, rtol=1e-4):
        return _passed(exercise, "only frames inside recordings count: the padding after them is silence at -1 "
                                 "too, and would pass for clipped quiet.")
    every = torch.tensor([float((images <= -1).double().mean()), float((images >= 1).double().mean())],
                         dtype=torch.float64)
    versions = {"give fractions between 0 and 1, not percentages": 100 * expected,
                "return (floor, ceiling) in that order": expected.flip(0),
                "you counted every pixel; count only the pixels of frames inside recordings (`inside`)": every,
                "`inside` is [N, frames] and the images [N, 1, bins, frames]: put frames before bins "
                "(images[:, 0].transpose(1, 2)) before indexing with it": None}
    problem = next((text for text, wrong in versions.items()
                    if wrong is not None and torch.allclose(answer, wrong, rtol=1e-4)),
                   f"the shares are ({expected[0]:.4f}, {expected[1]:.4f}), yours are ({answer[0]:.4f}, {answer[1]:.4f})")
    raise _fail(exercise, problem)


def image_to_magnitude(invert: Callable[..., torch.Tensor]) -> None:
    """Lesson 06: invert(images, mean, std, clip_std) must undo the codec's normalisation: STFT magnitudes."""
    exercise = "Exercise 2 (from the GAN's image back to STFT magnitudes)"
    with isolated_rng(0):
        images = torch.rand(2, 129, 65) * 2 - 1
        mean, std = torch.randn(129, 1) - 3, torch.rand(129, 1) + 0.5
    clip_std = 3.0
    answer = _as_tensor(exercise, _call(exercise, invert, images.clone(), mean, std, clip_std), "the magnitudes",
                        tuple(images.shape))
    expected = (torch.exp(images * clip_std * std + mean) - 1e-6).clamp_min(0).double()
    if torch.allclose(answer, expected, rtol=1e-4, atol=1e-5):
        return _passed(exercise, "exp(x · clip_std · std + mean) - 1e-6 undoes each step of the encoding in "
                                 "reverse order; only what the clipping cut off is lost.")
    log_space = (images * clip_std * std + mean).double()
    versions = {"your values are still logarithms: take exp at the end (and subtract the 1e-6 added before the log)":
                log_space,
                "multiply by clip_std first: the encoder divided the clipped values by clip_std to reach [-1, 1]":
                torch.exp(images * std + mean).double() - 1e-6,
                "undo the standardisation as x · std + mean; you divided where the encoder multiplied, or the reverse":
                torch.exp((images * clip_std - mean) / std).double() - 1e-6}
    for problem, wrong in versions.items():
        if torch.allclose(answer, wrong, rtol=1e-4, atol=1e-5):
            raise _fail(exercise, problem)
    worst = ((answer - expected).abs() / expected.abs().clamp_min(1e-6)).max().item()
    raise _fail(exercise, f"your magnitudes differ from the codec's by up to {worst:.1%}: undo the four encoding "
                          "steps in reverse order (× clip_std, × std + mean, exp, - 1e-6)")

SPEECH_PROBLEMS = ("whispered", "wrong digits")


def speech_diagnosis(diagnose: Callable[[dict[str, float]], set]) -> None:
    """Lesson 06: diagnose(scores) must return the set of problems a generator's as-heard scores show:
    'whispered' when under half of its audible frames are voiced, 'wrong digits' when the recogniser hears the
    requested digit in under 80% of clips; the IS and the FD decide neither."""
    exercise = "Exercise 3 (diagnose a speech generator as heard)"
    cases = {"voiced, right digits, a low IS": ({"voiced_share": 0.74, "label_accuracy": 0.93, "IS": 5.0}, set()),
             "a whisper with a high IS": ({"voiced_share": 0.21, "label_accuracy": 0.94, "IS": 8.9}, {"whispered"}),
             "voiced but mostly the wrong digit": ({"voiced_share": 0.70, "label_accuracy": 0.35, "IS": 8.1},
                                                   {"wrong digits"}),
             "whispered and the wrong digits": ({"voiced_share": 0.05, "label_accuracy": 0.62, "IS": 5.2},
                                                {"whispered", "wrong digits"}),
             "exactly at both limits": ({"voiced_share": 0.5, "label_accuracy": 0.8, "IS": 6.0}, set())}
    for name, (scores, expected) in cases.items():
        answer = _call(exercise, diagnose, {**scores, "FD": 40.0, "periodicity": 0.6})
        if not isinstance(answer, (set, frozenset)) or not answer <= set(SPEECH_PROBLEMS):
            raise _fail(exercise, f"return a set drawn from {SPEECH_PROBLEMS} (the empty set when nothing is "
                                  f"wrong), got {answer!r}")
        if answer != expected:
            hint = (" Exactly at the limit nothing is wrong yet: 'under half' and 'under 80%' are strict."
                    if name == "exactly at both limits" else
                    " The IS does not hear a voice: section 4's whisper of real speech kept an IS of several."
                    if "whispered" in expected ^ answer else
                    " The label accuracy is the share of clips heard as the digit asked for.")
            raise _fail(exercise, f"for {name} ({scores}) the problems are {sorted(expected) or 'none'}, yours "
                                  f"{sorted(answer) or 'none'}.{hint}")
    _passed(exercise, "each problem is read from the score that measures it: the voicing for a voice, the "
                      "label accuracy for the digit.")


# --- lesson 07 -------------------------------------------------------------------------------------------------
def k_plus_one_loss(loss: Callable[..., torch.Tensor]) -> None:
    """Lesson 07: loss(labelled_logits, labels, unlabelled_logits, fake_logits) must be the semi-supervised GAN's
    discriminator loss, cross-entropy over the K real classes plus the real-vs-fake loss with D = sigmoid(logsumexp),
    each averaged over its own batch, and stay finite for large logits."""
    exercise = "Exercise 1 (the K+1-class discriminator's loss)"
    with isolated_rng(0):
        labelled, unlabelled, fake = torch.randn(6, 10) * 3, torch.randn(8, 10) * 3, torch.randn(5, 10) * 3
        labels = torch.randint(10, (6,))
    cases = [(labelled, labels, unlabelled, fake), (labelled * 40, labels, unlabelled * 40, fake * 40)]
    for number, case in enumerate(cases):
        expected = sum(semi_supervised_discriminator_loss(*case)).double()
        answer = _as_tensor(exercise, _call(exercise, loss, *(x.clone() for x in case)), "the loss", (),
                            nan_hint=": with logits near ±100, exp overflows; use torch.logsumexp and F.softplus")
        if torch.isclose(answer, expected, rtol=1e-4, atol=1e-5):
            continue
        raise _fail(exercise, _k_plus_one_mistake(answer, case) or
                    f"{'with large logits, ' if number else ''}the loss is {expected.item():.4f}, yours is "
                    f"{answer.item():.4f}")
    _passed(exercise, "the fake class costs no output of its own: fixing its logit at 0 makes D(x) = Z/(Z+1), "
                      "so the unlabelled data trains the same K logits that classify.")


def _k_plus_one_mistake(answer: torch.Tensor, case: tuple[torch.Tensor, ...]) -> str:
    """Name the usual mistake whose value the learner's answer matches, if any."""
    labelled, labels, unlabelled, fake = case
    supervised = F.cross_entropy(labelled, labels)
    lse = lambda logits: torch.logsumexp(logits, dim=1)  # noqa: E731
    with_zero = lambda logits: torch.cat([logits, torch.zeros(len(logits), 1)], dim=1)  # noqa: E731
    mistakes = {
        "the real logit is the log-sum-exp of all K logits, because the fake class's logit is fixed at 0; "
        "using the largest logit instead changes D":
            supervised + F.softplus(-unlabelled.max(1).values).mean()
            + F.softplus(fake.max(1).values).mean(),
        "a sign is flipped: real data needs softplus(-lse) (that is -log D), fakes softplus(+lse) (-log(1 - D))":
            supervised + F.softplus(lse(unlabelled)).mean() + F.softplus(-lse(fake)).mean(),
        "the labelled batch was counted twice: it already has its cross-entropy, so the real-vs-fake term "
        "takes the unlabelled batch only":
            supervised + F.softplus(-lse(torch.cat([labelled, unlabelled]))).mean() + F.softplus(lse(fake)).mean(),
        "the supervised term is p(y | x, x is real): cross-entropy over the K real classes, without a column "
        "for the fake class":
            F.cross_entropy(with_zero(labelled), labels) + F.softplus(-lse(unlabelled)).mean()
            + F.softplus(lse(fake)).mean(),
        "the supervised term is missing: add the cross-entropy of the labelled batch":
            F.softplus(-lse(unlabelled)).mean() + F.softplus(lse(fake)).mean(),
    }
    return next((text for text, wrong in mistakes.items()
                 if torch.isclose(answer, wrong.double(), rtol=1e-4, atol=1e-5)), "")


def paired_interval(interval: Callable[[list[float], list[float]], tuple[float, float, float]]) -> None:
    """Lesson 07: interval(a, b) must return (mean, low, high) of the per-seed differences a - b, with the 95%
    Student's t interval on n - 1 degrees of freedom."""
    exercise = "Exercise 2 (a paired difference and its 95% interval)"
    a, b = [0.962, 0.971, 0.955, 0.968, 0.975], [0.741, 0.760, 0.722, 0.770, 0.752]
    expected = paired_difference(a, b)
    answer = _call(exercise, interval, list(a), list(b))
    if not (isinstance(answer, (tuple, list)) and len(answer) == 3):
        raise _fail(exercise, f"return three numbers (mean, low, high), got {answer!r}")
    mean, low, high = (float(value) for value in answer)
    if not math.isclose(mean, expected["mean"], rel_tol=1e-6):
        raise _fail(exercise, f"the mean difference is {expected['mean']:.4f}, yours is {mean:.4f}: subtract seed "
                              "by seed, a[i] - b[i]")
    half, expected_half = (high - low) / 2, (expected["high"] - expected["low"]) / 2
    if math.isclose(half, expected_half, rel_tol=1e-4) and math.isclose(low + half, mean, rel_tol=1e-6):
        return _passed(exercise, "pairing by seed removes what the two runs of a seed share (the same labelled "
                                 "examples), so the interval is far narrower than comparing two independent means.")
    diffs = torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)
    n, sem = len(diffs), float(diffs.std()) / len(diffs) ** 0.5
    hints = {1.96 * sem: "with 5 seeds the 95% quantile is Student's t on 4 degrees of freedom (2.776), not 1.96",
             expected_half * float(diffs.std()) / sem: "the interval is for the mean: divide the std by sqrt(n)",
             expected_half * float(diffs.std(unbiased=False)) / float(diffs.std()):
                 "use the sample std (n - 1 in the denominator, torch's default)",
             expected_half * math.sqrt((torch.tensor(a).var() + torch.tensor(b).var()).item() / n) / sem:
                 "that is the unpaired interval: the runs are paired by seed, so take the std of the differences"}
    problem = next((text for value, text in hints.items() if math.isclose(half, value, rel_tol=1e-3)),
                   f"your interval's half-width is {half:.4f}; it should be {expected_half:.4f}")
    raise _fail(exercise, problem)

TRAINING_VERDICTS = ("still improving", "cannot tell", "getting worse")


def _ramp_curves(gains: list[float], start: int, end: int, spacing: int = 100) -> list[list[list[float]]]:
    """One accuracy curve per gain: 0.6 until `start`, rising by the gain until `end`, then flat, to step 2,000."""
    return [[[step, 0.6 + gain * min(1.0, max(0.0, (step - start) / (end - start)))]
             for step in range(0, 2001, spacing)] for gain in gains]


def training_verdict(verdict: Callable[[list[list[list[float]]], int], str]) -> None:
    """Lesson 07: verdict(curves, last_steps) must compare, seed by seed, each curve's final accuracy with its
    accuracy `last_steps` steps before the end: 'still improving' when the paired 95% interval of the gain lies
    above 0, 'getting worse' when below, 'cannot tell' when it contains 0."""
    exercise = "Exercise 3 (had it finished training?)"
    cases = {"curves that rise to the end": (_ramp_curves([0.02, 0.03, 0.025, 0.028], 0, 2000), "still improving"),
             "curves that stopped rising at step 1,200": (_ramp_curves([0.1, 0.12, 0.09], 0, 1200), "cannot tell"),
             "curves that fall over their last 500 steps": (_ramp_curves([-0.015, -0.012, -0.014], 1500, 2000),
                                                            "getting worse"),
             "a mean gain of +1.2 points that one seed contradicts": (
                 _ramp_curves([0.03, 0.025, -0.02], 1500, 2000), "cannot tell"),
             "curves recorded every 50 steps, rising from step 1,500 to 1,750": (
                 _ramp_curves([0.02, 0.03, 0.025], 1500, 1750, spacing=50), "still improving")}
    for name, (curves, expected) in cases.items():
        answer = _call(exercise, verdict, copy.deepcopy(curves), 500)
        if answer not in TRAINING_VERDICTS:
            raise _fail(exercise, f"return one of {TRAINING_VERDICTS}, got {answer!r}")
        if answer != expected:
            hint = {"a mean gain of +1.2 points that one seed contradicts":
                        " A positive mean is not enough: with three seeds, does the interval of the gain exclude 0?",
                    "curves recorded every 50 steps, rising from step 1,500 to 1,750":
                        " Find the point `last_steps` before the end by its step, not by counting points."
                    }.get(name, " Compare each seed's last accuracy with its own accuracy `last_steps` steps earlier.")
            raise _fail(exercise, f"{name}: the verdict is {expected!r}, yours {answer!r}.{hint}")
    _passed(exercise, "the gain is measured seed by seed over the same stretch of steps, and called only when "
                      "its interval excludes 0.")
