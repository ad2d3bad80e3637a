"""The GAN Lab-style view: building toy GANs, its picture, and the gradient arrows it draws."""
import pytest
import torch

from ganlib.ganlab import ToyGanLab, ToyGanSettings, _gradient_arrows, build_toy_trainer, draw_toy_gan
from ganlib.losses import generator_loss
from ganlib.widgets import TrainingDashboard


def test_rebuild_applies_settings_and_keeps_the_controls_in_step():
    lab = ToyGanLab(steps=20)
    lab.run()
    assert lab.trainer.step_count == 20 and "modes_covered" in lab.trainer.metrics
    old_dashboard = lab.dashboard
    lab.rebuild(distribution="grid", optimizer="sgd", activation="leaky_relu", g_depth=3, d_width=64)
    assert old_dashboard.state == "stopped" and lab.trainer.step_count == 0
    assert lab.distribution.name == "grid" and isinstance(lab.trainer.opt_g, torch.optim.SGD)
    assert sum(isinstance(m, torch.nn.Linear) for m in lab.trainer.generator.modules()) == 4  # 3 hidden + output
    assert isinstance(lab.trainer.discriminator.net[1], torch.nn.LeakyReLU)
    assert lab.setup["distribution"].value == "grid" and lab.setup["g_depth"].value == 3
    assert lab.dashboard_box.children == (lab.dashboard.widget,)


def test_spectral_norm_and_rmsprop_settings_build_a_critic_for_lesson_04():
    lab = ToyGanLab(steps=5, settings=ToyGanSettings(spectral_norm=True, optimizer="rmsprop"), g_loss="hinge")
    lab.run()
    assert torch.nn.utils.parametrize.is_parametrized(lab.trainer.discriminator.net[0], "weight")
    assert isinstance(lab.trainer.opt_d, torch.optim.RMSprop) and lab.setup["spectral_norm"].value is True


def test_timed_runs_train_for_the_given_seconds_and_score_at_the_end():
    from ganlib.ganlab import compare_over_seeds
    runs = compare_over_seeds({"ring": {}}, seeds=[0], seconds=0.3)
    trainer = runs["ring"][0]
    assert 0.3 <= trainer.train_seconds < 1.0 and trainer.metrics["step"] == [0, trainer.step_count]


def test_rebuild_refuses_unknown_or_bad_settings():
    lab = ToyGanLab(steps=10)
    with pytest.raises(ValueError, match="hidden_layers"):
        lab.rebuild(hidden_layers=3)
    with pytest.raises(ValueError, match="`g_width`"):
        build_toy_trainer(ToyGanSettings(g_width=0))
    with pytest.raises(ValueError, match="`name`"):
        build_toy_trainer(ToyGanSettings(distribution="moons"))


def test_swiss_roll_uses_the_grid_js_as_its_metric():
    lab = ToyGanLab(steps=10, settings=ToyGanSettings(distribution="swiss_roll"))
    lab.run()
    assert lab.dashboard.metric == "js" and "modes_covered" not in lab.trainer.metrics


@pytest.mark.parametrize("g_loss", ["saturating", "non_saturating", "least_squares", "wasserstein", "hinge"])
def test_gradient_arrows_point_to_where_the_generator_loss_falls(g_loss):
    trainer, _ = build_toy_trainer(ToyGanSettings(), g_loss=g_loss)
    trainer.train(steps=30, progress=False)
    fake = trainer.sample_fixed()[:64]
    arrows = _gradient_arrows(trainer, fake)
    with torch.no_grad():
        loss = lambda points: float(generator_loss(g_loss)(trainer.discriminator(points)))  # noqa: E731
        assert loss(fake + 1e-3 * arrows / arrows.norm()) < loss(fake)


def test_the_picture_draws_heat_map_points_grid_and_arrows():
    trainer, _ = build_toy_trainer(ToyGanSettings())
    dashboard = TrainingDashboard(trainer, 10, metric="modes_covered", draw_samples=draw_toy_gan)
    figure = dashboard._samples_figure()
    ax = figure.axes[0]
    assert len(ax.images) == 1 and len(ax.collections) == 3  # heat map; real, fake, arrows
    assert len(ax.lines) == 2 * 9  # the noise grid's lines
    assert "step 0" in ax.get_title()


def test_compare_over_seeds_trains_each_variant_per_seed_and_tabulates_mean_and_std():
    from ganlib.ganlab import compare_over_seeds, seed_table
    runs = compare_over_seeds({"ring": {"distribution": "ring"}, "grid, sgd": {"distribution": "grid",
                               "optimizer": "sgd", "lr_g": 0.01}}, seeds=[0, 1], steps=5, lr_g=0.002,
                              metric_every=2)
    assert [len(trainers) for trainers in runs.values()] == [2, 2]
    assert runs["grid, sgd"][0].lr_g == 0.01 and isinstance(runs["grid, sgd"][1].opt_d, torch.optim.SGD)
    assert runs["ring"][0].lr_g == 0.002  # the shared option, where the variant does not override it
    assert all(t.step_count == 5 and t.metrics["step"] == [0, 2, 4, 5] for ts in runs.values() for t in ts)
    assert not torch.equal(runs["ring"][0].sample_fixed(), runs["ring"][1].sample_fixed())  # seeds differ
    table = seed_table(runs, {"modes_covered": "modes"})
    values = torch.tensor([t.metrics["modes_covered"][-1] for t in runs["ring"]])
    assert f"| ring | 2 | {values.mean():.2f} ± {values.std():.2f} |" in table

    history_table = seed_table(runs, {"grad_norm_g": "gradient norm"})
    last = [float(torch.tensor(t.history["grad_norm_g"][-1:]).mean()) for t in runs["ring"]]  # 10% of 5 steps = 1
    assert f"{torch.tensor(last).mean():.2f} ±" in history_table
    with pytest.raises(KeyError, match="`fid`"):
        seed_table(runs, {"fid": "FID"})


def test_compare_over_seeds_takes_a_step_budget_per_variant():
    from ganlib.ganlab import compare_over_seeds
    variants = {"plain": {}, "sgd": {"optimizer": "sgd"}}
    runs = compare_over_seeds(variants, seeds=[0], steps={"plain": 3, "sgd": 6})
    assert runs["plain"][0].step_count == 3 and runs["sgd"][0].step_count == 6
    with pytest.raises(ValueError, match="`steps` per variant"):
        compare_over_seeds(variants, seeds=[0], steps={"plain": 3})
