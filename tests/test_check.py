"""ganlib.check: each exercise's check passes the solution, and names the problem in the usual wrong answers."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from ganlib import check
from ganlib.check import CheckFailed


def stub(*arguments):
    """What `make student` leaves in place of a solution."""
    raise NotImplementedError()


def fails_with(check_function, answer, *phrases: str) -> str:
    """Run a check on a wrong answer; it must raise CheckFailed whose message holds every phrase."""
    with pytest.raises(CheckFailed) as failure:
        check_function(answer)
    message = str(failure.value)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    return message


EVERY_CHECK = [check.optimal_discriminator_closed_form, check.non_saturating_loss,
               check.value_against_optimal_discriminator, check.inception_score_by_hand, check.discriminator_step_loss,
               check.ema_update_by_hand,
               check.high_quality_share, check.mode_coverage_by_hand, check.gradient_penalty_by_hand,
               check.w1_from_samples, check.critic_gradient_diagnosis, check.clipped_shares, check.image_to_magnitude, check.upsampling_block, check.broken_dcgan_rules,
               check.k_plus_one_loss, check.paired_interval, check.generator_step_by_hand, check.named_failures,
               check.speech_diagnosis, check.training_verdict]


@pytest.mark.parametrize("check_function", EVERY_CHECK)
def test_every_check_says_not_done_yet_on_the_stub(check_function):
    fails_with(check_function, stub, "not done yet", "`stub` still raises NotImplementedError")
    with pytest.raises(TypeError, match="pass your function itself"):
        check_function(0.5)


def test_optimal_discriminator_check(capsys):
    check.optimal_discriminator_closed_form(lambda x: torch.sigmoid(2 - 2 * x))
    assert "correct" in capsys.readouterr().out
    fails_with(check.optimal_discriminator_closed_form, lambda x: torch.sigmoid(2 * x - 2), "1 - D*")
    fails_with(check.optimal_discriminator_closed_form, lambda x: 2 - 2 * x, "probability", "logit")
    fails_with(check.optimal_discriminator_closed_form, lambda x: torch.sigmoid(1 - x), "off by", "D*(1) should be 0.5")
    fails_with(check.optimal_discriminator_closed_form, lambda x: torch.sigmoid(2 - 2 * x).mean(), "shape")
    fails_with(check.optimal_discriminator_closed_form, lambda x: x / 0, "NaN or infinite")
    fails_with(check.optimal_discriminator_closed_form, lambda x: x.foo(), "raised AttributeError")


def test_non_saturating_loss_check(capsys):
    check.non_saturating_loss(lambda logits: F.softplus(-logits).mean())
    check.non_saturating_loss(lambda logits: -F.logsigmoid(logits).mean())
    assert capsys.readouterr().out.count("correct") == 2
    fails_with(check.non_saturating_loss, lambda logits: F.logsigmoid(logits).mean(), "sign is flipped")
    fails_with(check.non_saturating_loss, lambda logits: -F.softplus(logits).mean(), "saturating loss")
    fails_with(check.non_saturating_loss, lambda logits: F.softplus(-logits).sum(), "sum over the batch")
    fails_with(check.non_saturating_loss, lambda logits: F.softplus(-logits), "the mean over the batch")
    fails_with(check.non_saturating_loss, lambda logits: -torch.log(torch.sigmoid(logits)).mean(), "underflows")
    fails_with(check.non_saturating_loss, lambda logits: torch.tensor(F.softplus(-logits).mean().item()),
               "no gradient reaches")
    fails_with(check.non_saturating_loss, lambda logits: F.softplus(-logits).mean() + 0.1, "yours is")


def value_solution(p_data, p_g, dx):
    """V(D*, G) on a grid, each p log D* written as p log p - p log(p_data + p_g), with 0 log 0 = 0."""
    total = p_data + p_g
    return float((torch.xlogy(p_data, p_data) - torch.xlogy(p_data, total)
                  + torch.xlogy(p_g, p_g) - torch.xlogy(p_g, total)).sum() * dx)


def test_value_against_optimal_discriminator_check(capsys):
    check.value_against_optimal_discriminator(value_solution)
    assert "-log 4" in capsys.readouterr().out
    fails_with(check.value_against_optimal_discriminator, lambda p, q, dx: value_solution(p, q, dx) / dx,
               "multiply by dx")
    fails_with(check.value_against_optimal_discriminator, lambda p, q, dx: -value_solution(p, q, dx), "sign")

    def naive(p_data, p_g, dx):
        d_star = p_data / (p_data + p_g)
        return float((p_data * torch.log(d_star) + p_g * torch.log(1 - d_star)).sum() * dx)
    fails_with(check.value_against_optimal_discriminator, naive, "NaN", "torch.xlogy")

    def xlogy_of_d_star(p_data, p_g, dx):  # 0 log 0 handled, but D* rounds to 1 in the tails
        d_star = torch.nan_to_num(p_data / (p_data + p_g), nan=0.5)
        return float((torch.xlogy(p_data, d_star) + torch.xlogy(p_g, 1 - d_star)).sum() * dx)
    fails_with(check.value_against_optimal_discriminator, xlogy_of_d_star, "rounds to exactly 0 or 1")
    fails_with(check.value_against_optimal_discriminator, lambda p, q, dx: value_solution(p, q, dx) + 0.01,
               "yours is")


def inception_score_solution(probs):
    """exp of the mean KL between each p(y|x) and the marginal p(y)."""
    probs = probs.clamp_min(1e-12)
    marginal = probs.mean(0, keepdim=True)
    return torch.exp((probs * (probs.log() - marginal.log())).sum(1).mean())


def test_inception_score_check(capsys):
    check.inception_score_by_hand(inception_score_solution)
    check.inception_score_by_hand(lambda probs: float(inception_score_solution(probs)))
    assert capsys.readouterr().out.count("correct") == 2
    fails_with(check.inception_score_by_hand, lambda probs: inception_score_solution(probs).log(), "log of the score")
    def reversed_kl(probs):
        probs = probs.clamp_min(1e-12)
        return torch.exp((probs.mean(0) * (probs.mean(0).log() - probs.log())).sum(1).mean())
    fails_with(check.inception_score_by_hand, reversed_kl, "wrong way round")
    fails_with(check.inception_score_by_hand, lambda probs: 0.5 * inception_score_solution(probs), "never below 1")
    fails_with(check.inception_score_by_hand, lambda probs: probs.mean(0), "shape")
    unclamped = lambda probs: torch.exp((probs * (probs.log() - probs.mean(0).log())).sum(1).mean())  # noqa: E731
    fails_with(check.inception_score_by_hand, unclamped, "NaN", "clamp_min")


def ema_update_solution(averaged, live, decay):
    with torch.no_grad():
        for average, weight in zip(averaged.parameters(), live.parameters()):
            average.mul_(decay).add_(weight, alpha=1 - decay)


def test_ema_update_check(capsys):
    check.ema_update_by_hand(ema_update_solution)
    assert "correct" in capsys.readouterr().out
    def swapped(averaged, live, decay):
        ema_update_solution(averaged, live, 1 - decay)
    fails_with(check.ema_update_by_hand, swapped, "swapped")
    def without_no_grad(averaged, live, decay):
        for average, weight in zip(averaged.parameters(), live.parameters()):
            average.mul_(decay).add_(weight, alpha=1 - decay)
    fails_with(check.ema_update_by_hand, without_no_grad, "torch.no_grad()")
    def on_a_copy(averaged, live, decay):
        averaged = copy.deepcopy(averaged)
        ema_update_solution(averaged, live, decay)
        return averaged
    fails_with(check.ema_update_by_hand, on_a_copy, "did not change", "in place")
    def moves_live(averaged, live, decay):
        ema_update_solution(live, averaged, decay)
    fails_with(check.ema_update_by_hand, moves_live, "changed the live network")
    def plain_mean(averaged, live, decay):
        ema_update_solution(averaged, live, 0.5)
    fails_with(check.ema_update_by_hand, plain_mean, "decay · averaged + (1 − decay) · live")


def discriminator_step_solution(discriminator, generator, real, z, real_label):
    """BCE of D on real (target real_label) and on detached fakes (target 0)."""
    fake = generator(z).detach()
    real_logits, fake_logits = discriminator(real), discriminator(fake)
    return (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def bce_loss(real_logits, real_target, fake_logits, fake_target):
    """BCE of real logits against one target plus fake logits against another."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, fake_target)))


def test_discriminator_step_check(capsys):
    torch.manual_seed(3)
    before = torch.get_rng_state()
    check.discriminator_step_loss(discriminator_step_solution)
    assert "correct" in capsys.readouterr().out
    assert torch.equal(torch.get_rng_state(), before)  # the check leaves the learner's RNG alone
    fails_with(check.discriminator_step_loss, lambda d, g, real, z, label: bce_loss(d(real), label, d(g(z)), 0.0),
               "gradients reached the generator", ".detach()")
    fails_with(check.discriminator_step_loss,
               lambda d, g, real, z, label: bce_loss(d(g(z).detach()), label, d(real), 0.0), "swapped")
    fails_with(check.discriminator_step_loss,
               lambda d, g, real, z, label: bce_loss(d(real), label, d(g(z).detach()), 1 - label), "two-sided")
    fails_with(check.discriminator_step_loss,
               lambda d, g, real, z, label: bce_loss(d(real), 1.0, d(g(z).detach()), 0.0), "label is ignored")
    fails_with(check.discriminator_step_loss,
               lambda d, g, real, z, label: discriminator_step_solution(d, g, real, z, label) / 2, "should be")
    fails_with(check.discriminator_step_loss,
               lambda d, g, real, z, label: torch.tensor(discriminator_step_solution(d, g, real, z, label).item()),
               "no gradient reaches the discriminator")


def test_high_quality_share_check(capsys):
    check.high_quality_share(lambda k: 1 - math.exp(-k * k / 2))
    assert "correct" in capsys.readouterr().out
    fails_with(check.high_quality_share, lambda k: 100 * (1 - math.exp(-k * k / 2)), "not a percentage")
    fails_with(check.high_quality_share, lambda k: math.erf(k / math.sqrt(2)), "(1-D)", "χ²")
    fails_with(check.high_quality_share, lambda k: math.exp(-k * k / 2), "outside")
    fails_with(check.high_quality_share, lambda k: 1 - math.exp(-k * k), "yours is")


def gradient_penalty_solution(critic, real, fake):
    """Mean (|grad critic(x̂)| - 1)² at x̂ = ε real + (1 - ε) fake, one ε per sample."""
    epsilon = torch.rand(len(real), 1)
    between = (epsilon * real + (1 - epsilon) * fake.detach()).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    return ((gradient.norm(dim=1) - 1) ** 2).mean()


def penalty_variant(epsilon=lambda real: torch.rand(len(real), 1), norm=lambda g: g.norm(dim=1),
                    create_graph=True, reduce=torch.mean):
    """The solution with one part swapped for a typical mistake."""
    def penalty(critic, real, fake):
        between = (epsilon(real) * real + (1 - epsilon(real)) * fake).detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(between).sum(), between, create_graph=create_graph)
        return reduce((norm(gradient) - 1) ** 2)
    return penalty


def test_gradient_penalty_check(capsys):
    torch.manual_seed(0)
    before = torch.get_rng_state()
    check.gradient_penalty_by_hand(gradient_penalty_solution)
    assert "correct" in capsys.readouterr().out and torch.equal(torch.get_rng_state(), before)
    fails_with(check.gradient_penalty_by_hand, penalty_variant(norm=lambda g: (g ** 2).sum(1)), "squared norm")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(reduce=torch.sum), "summed over the batch")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(create_graph=False), "create_graph=True")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(epsilon=lambda real: torch.ones(len(real), 1)),
               "real samples only")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(epsilon=lambda real: torch.zeros(len(real), 1)),
               "fake samples only")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(epsilon=lambda real: torch.full((len(real), 1), 0.5)),
               "not fixed at 0.5")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(epsilon=lambda real: torch.rand(1, 1)),
               "once per sample")
    fails_with(check.gradient_penalty_by_hand, penalty_variant(norm=lambda g: g.norm().expand(len(g))),
               "not one norm over the whole batch")


def test_image_to_magnitude_check(capsys):
    solution = lambda x, mean, std, clip_std: (torch.exp(x * clip_std * std + mean) - 1e-6).clamp_min(0)  # noqa: E731
    check.image_to_magnitude(solution)
    assert "correct" in capsys.readouterr().out
    fails_with(check.image_to_magnitude, lambda x, mean, std, clip_std: x * clip_std * std + mean, "still logarithms")
    fails_with(check.image_to_magnitude, lambda x, mean, std, clip_std: torch.exp(x * std + mean) - 1e-6,
               "multiply by clip_std")
    fails_with(check.image_to_magnitude, lambda x, mean, std, clip_std: torch.exp((x * clip_std - mean) / std) - 1e-6,
               "x · std + mean")
    fails_with(check.image_to_magnitude, lambda x, mean, std, clip_std: solution(x, mean, std, clip_std)[0], "shape")
    fails_with(check.image_to_magnitude, lambda x, mean, std, clip_std: 1.1 * solution(x, mean, std, clip_std),
               "differ from the codec's by up to 10.0%")


def balanced_subset_solution(labels, per_class, seed):
    """per_class distinct indices of each class, from a generator seeded with `seed`."""
    rng = torch.Generator().manual_seed(seed)
    chosen = []
    for label in labels.unique().tolist():
        members = (labels == label).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError(f"class {label} has only {len(members)} examples")
        chosen.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    return torch.cat(chosen)


def mode_coverage_solution(samples, centers, std):
    """(modes covered, high-quality share in %) by the 3-std and 0.8% rules."""
    distance, nearest = torch.cdist(samples, centers).min(dim=1)
    good = distance <= 3 * std
    counts = torch.bincount(nearest[good], minlength=len(centers))
    return int((counts >= 0.008 * len(samples)).sum()), 100 * float(good.float().mean())


def test_mode_coverage_check(capsys):
    check.mode_coverage_by_hand(mode_coverage_solution)
    assert "correct" in capsys.readouterr().out

    def any_sample_covers(samples, centers, std):
        distance, nearest = torch.cdist(samples, centers).min(dim=1)
        return len(nearest[distance <= 3 * std].unique()), 100 * float((distance <= 3 * std).float().mean())

    def all_samples_count(samples, centers, std):
        distance, nearest = torch.cdist(samples, centers).min(dim=1)
        counts = torch.bincount(nearest, minlength=len(centers))
        return int((counts >= 0.008 * len(samples)).sum()), 100 * float((distance <= 3 * std).float().mean())
    fails_with(check.mode_coverage_by_hand, any_sample_covers, "0.8% of *all* samples")
    fails_with(check.mode_coverage_by_hand, all_samples_count, "0.8% of *all* samples")
    fails_with(check.mode_coverage_by_hand, lambda s, c, std: (mode_coverage_solution(s, c, std)[0],
                                                               mode_coverage_solution(s, c, std)[1] / 100), "percent")
    fails_with(check.mode_coverage_by_hand, lambda s, c, std: (mode_coverage_solution(s, c, std)[0],
                                                               mode_coverage_solution(s, c, 2 * std)[1]), "within 3 std")
    fails_with(check.mode_coverage_by_hand, lambda s, c, std: mode_coverage_solution(s, c, std)[0], "a pair")


def test_w1_from_samples_check(capsys):
    check.w1_from_samples(lambda a, b: (a.sort().values - b.sort().values).abs().mean())
    assert "correct" in capsys.readouterr().out
    fails_with(check.w1_from_samples, lambda a, b: (a - b).abs().mean(), "sorted order")
    fails_with(check.w1_from_samples, lambda a, b: (a.mean() - b.mean()).abs(), "distance between the means")
    fails_with(check.w1_from_samples, lambda a, b: ((a.sort().values - b.sort().values) ** 2).mean(), "yours is")


def test_clipped_shares_check(capsys):
    def solution(images, inside):
        pixels = images[:, 0].transpose(1, 2)[inside]
        return torch.stack([(pixels <= -1).float().mean(), (pixels >= 1).float().mean()])
    check.clipped_shares(solution)
    assert "correct" in capsys.readouterr().out
    fails_with(check.clipped_shares, lambda images, inside: 100 * solution(images, inside), "not percentages")
    fails_with(check.clipped_shares, lambda images, inside: solution(images, inside).flip(0), "in that order")
    fails_with(check.clipped_shares, lambda images, inside: torch.stack([(images <= -1).float().mean(),
                                                                          (images >= 1).float().mean()]), "every pixel")
    fails_with(check.clipped_shares, lambda images, inside: (images[images > -1] >= 1).float().mean(), "pair")
    fails_with(check.clipped_shares, lambda images, inside: torch.zeros(2), "yours are")


def dcgan_block(cin, cout):
    """Lesson 05's upsampling block, as the solution writes it."""
    from ganlib.models import dcgan_initialise
    return dcgan_initialise(torch.nn.Sequential(torch.nn.ConvTranspose2d(cin, cout, 4, 2, 1),
                                                torch.nn.BatchNorm2d(cout), torch.nn.ReLU()))


def test_upsampling_block_check(capsys):
    nn = torch.nn
    check.upsampling_block(dcgan_block)
    assert "correct" in capsys.readouterr().out
    fails_with(check.upsampling_block, lambda cin, cout: nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1),
                                                                       nn.BatchNorm2d(cout), nn.ReLU()), "N(0, 0.02)")
    fails_with(check.upsampling_block, lambda cin, cout: dcgan_block(cin, cout)[:2], "end it with nn.ReLU()")
    fails_with(check.upsampling_block, lambda cin, cout: dcgan_block(cin, cout)[::2], "add nn.BatchNorm2d")
    fails_with(check.upsampling_block, lambda cin, cout: nn.Sequential(dcgan_block(cin, cout)[0], nn.ReLU(),
                                                                       dcgan_block(cin, cout)[1]), "negative values")
    fails_with(check.upsampling_block, lambda cin, cout: nn.ConvTranspose2d(cin, cout, 3, 2, 1), "kernel_size=4")
    fails_with(check.upsampling_block, lambda cin, cout: "block", "return a torch network")


def audit_rules(generator, discriminator):
    """Lesson 05's rule audit, as the solution writes it."""
    nn = torch.nn
    g_layers, d_layers = list(generator.modules()), list(discriminator.modules())
    broken = set()
    if any(isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d)) for layer in d_layers):
        broken.add("no_pooling")
    if not any(isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)) for layer in g_layers):
        broken.add("batch_norm_in_g")
    if not isinstance([layer for layer in g_layers if not list(layer.children())][-1], nn.Tanh):
        broken.add("tanh_output")
    if any(type(layer) is nn.ReLU for layer in d_layers):
        broken.add("leaky_relu_in_d")
    return broken


def test_broken_dcgan_rules_check(capsys):
    check.broken_dcgan_rules(audit_rules)
    assert "all 8 pairs audited right" in capsys.readouterr().out
    fails_with(check.broken_dcgan_rules, lambda g, d: set(), "missed ['batch_norm_in_g']")
    fails_with(check.broken_dcgan_rules, lambda g, d: set(check.DCGAN_RULES), "wrongly flagged")
    fails_with(check.broken_dcgan_rules, lambda g, d: {"pooling"}, "are not rule names")
    fails_with(check.broken_dcgan_rules, lambda g, d: ["no_pooling"], "return a set")


def k_plus_one_solution(labelled, labels, unlabelled, fake):
    """The semi-supervised GAN's discriminator loss, written out."""
    lse = lambda logits: torch.logsumexp(logits, dim=1)  # noqa: E731
    return (F.cross_entropy(labelled, labels) + F.softplus(-lse(unlabelled)).mean() + F.softplus(lse(fake)).mean())


def test_k_plus_one_loss_check(capsys):
    check.k_plus_one_loss(k_plus_one_solution)
    assert "correct" in capsys.readouterr().out
    lse = lambda logits: torch.logsumexp(logits, dim=1)  # noqa: E731
    ce = F.cross_entropy
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: ce(l, y) + F.softplus(lse(u)).mean()
               + F.softplus(-lse(f)).mean(), "sign is flipped")
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: ce(l, y) + F.softplus(-u.max(1).values).mean()
               + F.softplus(f.max(1).values).mean(), "fixed at 0")
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: k_plus_one_solution(l, y, torch.cat([l, u]), f),
               "counted twice")
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: ce(torch.cat([l, torch.zeros(len(l), 1)], 1), y)
               + F.softplus(-lse(u)).mean() + F.softplus(lse(f)).mean(), "without a column")
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: F.softplus(-lse(u)).mean() + F.softplus(lse(f)).mean(),
               "supervised term is missing")
    naive = lambda logits: torch.log(torch.exp(logits).sum(1))  # noqa: E731
    fails_with(check.k_plus_one_loss, lambda l, y, u, f: ce(l, y) + F.softplus(-naive(u)).mean()
               + F.softplus(naive(f)).mean(), "logsumexp")


def paired_solution(a, b):
    """Mean difference and its 95% t interval."""
    from scipy.stats import t
    d = torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)
    half = t.ppf(0.975, len(d) - 1) * d.std().item() / len(d) ** 0.5
    return d.mean().item(), d.mean().item() - half, d.mean().item() + half


def test_paired_interval_check(capsys):
    check.paired_interval(paired_solution)
    assert "correct" in capsys.readouterr().out

    def with_z(a, b):
        mean, low, high = paired_solution(a, b)
        half = 1.96 * (torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)).std().item() / 5 ** 0.5
        return mean, mean - half, mean + half
    fails_with(check.paired_interval, with_z, "Student's t")

    def unpaired(a, b):
        mean = paired_solution(a, b)[0]
        half = 2.7764451 * ((torch.tensor(a).var() + torch.tensor(b).var()).item() / 5) ** 0.5
        return mean, mean - half, mean + half
    fails_with(check.paired_interval, unpaired, "unpaired")

    def no_sqrt_n(a, b):
        mean = paired_solution(a, b)[0]
        half = 2.7764451 * (torch.tensor(a, dtype=torch.float64) - torch.tensor(b, dtype=torch.float64)).std().item()
        return mean, mean - half, mean + half
    fails_with(check.paired_interval, no_sqrt_n, "sqrt(n)")
    fails_with(check.paired_interval, lambda a, b: (0.0, -1.0, 1.0), "seed by seed")
    fails_with(check.paired_interval, lambda a, b: 0.2, "three numbers")


def diagnosis_solution(norms):
    first, last = norms[0], norms[-1]
    if first > 100 * last:
        return "exploding"
    if first * 100 < last:
        return "vanishing"
    return "healthy"


def test_critic_gradient_diagnosis_check(capsys):
    check.critic_gradient_diagnosis(diagnosis_solution)
    assert "correct" in capsys.readouterr().out
    fails_with(check.critic_gradient_diagnosis, lambda norms: diagnosis_solution(norms[::-1]), "other way round")
    fails_with(check.critic_gradient_diagnosis, lambda norms: "fine", "return one of")
    def divides(norms):
        ratio = norms[0] / norms[-1] if norms[-1] else float("inf")
        return "exploding" if ratio > 100 else "vanishing" if ratio < 0.01 else "healthy"
    check.critic_gradient_diagnosis(divides)
    def ten_fold(norms):
        return "exploding" if norms[0] > 10 * norms[-1] else "vanishing" if norms[0] * 10 < norms[-1] else "healthy"
    fails_with(check.critic_gradient_diagnosis, ten_fold, "factor of 100")


def generator_step_solution(generator, discriminator, optimizer, z, loss_fn=None, zero_grad=True):
    """Lesson 01's Exercise 4, with switches for the usual mistakes."""
    loss = (loss_fn or check.non_saturating_generator_loss)(discriminator(generator(z)))
    if zero_grad:
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def test_generator_step_check(capsys):
    check.generator_step_by_hand(generator_step_solution)
    assert "correct" in capsys.readouterr().out
    fails_with(check.generator_step_by_hand,
               lambda g, d, opt, z: generator_step_solution(g, d, opt, z, loss_fn=check.saturating_generator_loss),
               "saturating loss")
    fails_with(check.generator_step_by_hand,
               lambda g, d, opt, z: generator_step_solution(g, d, opt, z, zero_grad=False), "zero_grad")
    fails_with(check.generator_step_by_hand, lambda g, d, opt, z: generator_step_solution(
        g, lambda x: d(x.detach()), opt, z), "did not change")
    def moves_d(g, d, opt, z):
        both = torch.optim.SGD([*g.parameters(), *d.parameters()], lr=0.1)
        return generator_step_solution(g, d, both, z)
    fails_with(check.generator_step_by_hand, moves_d, "changed D's weights")
    fails_with(check.generator_step_by_hand,
               lambda g, d, opt, z: generator_step_solution(g, d, opt, torch.randn_like(z)), "draw no noise of your own")
    fails_with(check.generator_step_by_hand, lambda g, d, opt, z: [generator_step_solution(g, d, opt, z)][:0] or None,
               "return the loss")


def test_named_failures_check(capsys):
    right = {"A": "mode hopping", "B": "vanishing gradient", "C": "mode collapse"}
    check.named_failures(lambda: dict(right))
    assert "correct" in capsys.readouterr().out
    message = fails_with(check.named_failures, lambda: {**right, "A": "mode collapse", "C": "mode hopping"},
                         "2 of 3 named wrong", "Run A")
    assert not any(failure in message for failure in check.FAILURES), "a hint must not name the answer"
    fails_with(check.named_failures, lambda: {**right, "B": "collapse"}, "name one of")
    fails_with(check.named_failures, lambda: ["mode hopping"], "return a dict")


def test_the_committed_failure_logs_show_the_failures_the_check_expects():
    from ganlib.failure_logs import load_logs
    logs = load_logs()
    late_gradient = {letter: sum(log["grad_norm_g"][-200:]) / 200 for letter, log in logs.items()}
    assert late_gradient["B"] < 0.01 * min(late_gradient["A"], late_gradient["C"]), late_gradient
    second_half = {letter: torch.tensor([log[f"mode_{i}"][len(log["step"]) // 2:] for i in range(8)])
                   for letter, log in logs.items()}
    held = second_half["C"].sum(1) / second_half["C"].sum()  # C: its mass stays on a few modes
    assert held.topk(2).values.sum() > 0.8, held
    busiest = second_half["A"].argmax(0)  # A: the mode holding the most mass keeps changing
    assert len(set(busiest.tolist())) >= 4, busiest


def test_speech_diagnosis_check(capsys):
    def solution(scores):
        return {problem for problem, wrong in (("whispered", scores["voiced_share"] < 0.5),
                                               ("wrong digits", scores["label_accuracy"] < 0.8)) if wrong}
    check.speech_diagnosis(solution)
    assert "correct" in capsys.readouterr().out
    fails_with(check.speech_diagnosis, lambda s: solution(s) | ({"whispered"} if s["IS"] < 6 else set()),
               "does not hear a voice")
    fails_with(check.speech_diagnosis, lambda s: solution({**s, "voiced_share": s["voiced_share"] - 1e-9}),
               "Exactly at the limit")
    fails_with(check.speech_diagnosis, lambda s: sorted(solution(s)), "return a set")


def test_training_verdict_check(capsys):
    from ganlib.few_labels import paired_difference
    def verdict(curves, last_steps, by_step=True, paired=True):
        final = [curve[-1][1] for curve in curves]
        earlier = [next(a for s, a in curve if s >= curve[-1][0] - last_steps) if by_step else curve[-6][1]
                   for curve in curves]
        if not paired:
            mean = sum(f - e for f, e in zip(final, earlier)) / len(final)
            return "still improving" if mean > 0.001 else "getting worse" if mean < -0.001 else "cannot tell"
        interval = paired_difference(final, earlier)
        return "still improving" if interval["low"] > 0 else "getting worse" if interval["high"] < 0 else "cannot tell"
    check.training_verdict(verdict)
    assert "correct" in capsys.readouterr().out
    fails_with(check.training_verdict, lambda c, n: verdict(c, n, by_step=False), "by its step")
    fails_with(check.training_verdict, lambda c, n: verdict(c, n, paired=False), "positive mean is not enough")
    fails_with(check.training_verdict, lambda c, n: "finished", "return one of")

