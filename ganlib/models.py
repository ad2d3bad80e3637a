"""Generators and discriminators: multilayer perceptrons, and DCGAN-shaped convolutional networks for images."""
from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrizations

from . import validate

ACTIVATIONS = {"relu": lambda: nn.ReLU(), "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def _activation(name: str, who: str) -> nn.Module:
    """An activation layer by name."""
    validate.choice(name, "activation", who, sorted(ACTIVATIONS))
    return ACTIVATIONS[name]()


def _check_widths(who: str, hidden: Sequence[int], **sizes: int) -> None:
    """Layer sizes: positive ints, and `hidden` a sequence of them."""
    for name, size in sizes.items():
        validate.integer(size, name, who)
    if not isinstance(hidden, (list, tuple)):
        raise TypeError(f"{who}: `hidden` must be a list or tuple of layer widths, got {type(hidden).__name__}")
    for width in hidden:
        validate.integer(width, "hidden", who)


@contextmanager
def eval_mode(*networks: nn.Module) -> Iterator[None]:
    """Inside the block the networks are in eval mode; each one's mode is restored on every exit path (even Ctrl-C)."""
    modes = [network.training for network in networks]
    try:
        for network in networks:
            network.eval()
        yield
    finally:
        for network, mode in zip(networks, modes):
            network.train(mode)


def check_batch(x: torch.Tensor, features: int, who: str, argument: str) -> None:
    """Raise a clear error unless `x` is a non-empty float batch [N, features] without NaN or Inf."""
    validate.tensor(x, argument, who, shape=("batch", features))


class MLPGenerator(nn.Module):
    """Maps noise z [N, latent_dim] to samples [N, out_dim], in [-1, 1] with the default tanh output."""

    def __init__(self, latent_dim: int = 100, hidden: Sequence[int] = (128, 256), out_dim: int = 784,
                 activation: str = "leaky_relu", batch_norm: bool = False, tanh_output: bool = True):
        super().__init__()
        _check_widths("MLPGenerator", hidden, latent_dim=latent_dim, out_dim=out_dim)
        validate.flag(batch_norm, "batch_norm", "MLPGenerator")
        validate.flag(tanh_output, "tanh_output", "MLPGenerator")
        self.latent_dim, self.out_dim = latent_dim, out_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(_activation(activation, "MLPGenerator"))
            width = size
        layers.append(nn.Linear(width, out_dim))
        if tanh_output:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Generate one sample per row of `z`."""
        check_batch(z, self.latent_dim, "MLPGenerator", "z")
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Maps samples [N, in_dim] to one real-vs-fake logit each, shape [N]."""

    def __init__(self, in_dim: int = 784, hidden: Sequence[int] = (256, 128),
                 activation: str = "leaky_relu", dropout: float = 0.0, spectral_norm: bool = False):
        super().__init__()
        _check_widths("MLPDiscriminator", hidden, in_dim=in_dim)
        validate.number(dropout, "dropout", "MLPDiscriminator", low=0.0, high=1.0, high_open=True)
        validate.flag(spectral_norm, "spectral_norm", "MLPDiscriminator")
        self.in_dim = in_dim
        # Spectral normalisation (Miyato et al., 2018) divides each weight matrix by an estimate of its largest
        # singular value, refined by one power iteration per training forward pass: every layer is 1-Lipschitz.
        linear = (lambda *sizes: parametrizations.spectral_norm(nn.Linear(*sizes))) if spectral_norm else nn.Linear
        layers: list[nn.Module] = []
        width = in_dim
        for size in hidden:
            layers += [linear(width, size), _activation(activation, "MLPDiscriminator")]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits (not probabilities): apply a sigmoid to get D(x)."""
        check_batch(x, self.in_dim, "MLPDiscriminator", "x")
        return self.net(x).squeeze(1)


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise in training mode and nothing in eval mode: a regulariser, as dropout is."""

    def __init__(self, std: float):
        super().__init__()
        self.std = validate.number(std, "std", "GaussianNoise", low=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x plus fresh noise while training, x unchanged in eval mode."""
        return x + self.std * torch.randn_like(x) if self.training and self.std else x

    def extra_repr(self) -> str:
        return f"std={self.std}"


class ClassifierDiscriminator(nn.Module):
    """The semi-supervised GAN's discriminator (Salimans et al., 2016, MNIST): an MLP with Gaussian noise on its
    input and on every hidden layer, ending in K class logits [N, n_classes]. The fake class has no output of its
    own: its logit is fixed at 0. `features` is the last hidden layer, which feature matching compares.
    Salimans et al.'s input noise, 0.3 on images in [0, 1], is 0.6 on our images in [-1, 1]."""

    def __init__(self, in_dim: int = 784, hidden: Sequence[int] = (1000, 500, 250, 250, 250), n_classes: int = 10,
                 input_noise: float = 0.6, hidden_noise: float = 0.5, weight_norm: bool = False):
        super().__init__()
        _check_widths("ClassifierDiscriminator", hidden, in_dim=in_dim)
        validate.integer(n_classes, "n_classes", "ClassifierDiscriminator", low=2)
        validate.flag(weight_norm, "weight_norm", "ClassifierDiscriminator")
        for name, std in (("input_noise", input_noise), ("hidden_noise", hidden_noise)):
            validate.number(std, name, "ClassifierDiscriminator", low=0)
        self.in_dim, self.n_classes = in_dim, n_classes
        linear = (lambda *sizes: parametrizations.weight_norm(nn.Linear(*sizes))) if weight_norm else nn.Linear
        layers: list[nn.Module] = [GaussianNoise(input_noise)]
        for width_in, width_out in zip([in_dim, *hidden], hidden):
            layers += [linear(width_in, width_out), nn.ReLU(), GaussianNoise(hidden_noise)]
        self.body = nn.Sequential(*layers[:-1])  # the last hidden layer's noise is applied in `forward` only
        self.head = nn.Sequential(layers[-1], linear(hidden[-1] if hidden else in_dim, n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations [N, hidden[-1]], before its noise (as Salimans et al. match them)."""
        check_batch(x, self.in_dim, "ClassifierDiscriminator", "x")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [N, n_classes]: softmax over them gives p(class | x, real); D(x) = sigmoid(logsumexp)."""
        return self.head(self.features(x))


def check_labels(labels: torch.Tensor | None, n: int, n_classes: int, who: str, rows_of: str = "the batch") -> torch.Tensor:
    """Raise a clear error unless `labels` is an int tensor [n] of classes 0..n_classes-1."""
    return validate.labels(labels, n, n_classes, who, rows_of=rows_of)


def _check_image_shape(image_shape: Sequence[int], blocks: int, who: str) -> tuple[int, int]:
    """The smallest feature map, image_shape / 2**blocks, which must come out whole."""
    validate.integer(blocks, "blocks", who, high=8)
    if not isinstance(image_shape, (list, tuple)) or len(image_shape) != 2:
        raise ValueError(f"{who}: `image_shape` must be (height, width), got {image_shape!r}")
    height, width = (validate.integer(size, "image_shape", who) for size in image_shape)
    if height % 2**blocks or width % 2**blocks:
        raise ValueError(f"{who}: `image_shape` {tuple(image_shape)} must be divisible by 2**blocks = {2**blocks}")
    return height // 2**blocks, width // 2**blocks


def _check_classes(n_classes: int | None, who: str) -> None:
    """None for an unconditional network, else at least 2 classes."""
    if n_classes is not None:
        validate.integer(n_classes, "n_classes", who, low=2)


class ConvGenerator(nn.Module):
    """DCGAN-shaped: z [N, latent_dim] -> one-channel images [N, 1, H, W] in [-1, 1], by `blocks` doublings.

    z is projected to the smallest feature map by a linear layer (through a hidden layer of `hidden` units first, when
    `hidden` > 0, as InfoGAN's MNIST generator does). With `n_classes`, it is class-conditional: forward(z, labels)
    appends a one-hot code of the label to z.
    """

    def __init__(self, latent_dim: int = 100, image_shape: Sequence[int] = (128, 64), width: int = 32,
                 blocks: int = 5, n_classes: int | None = None, hidden: int = 0):
        super().__init__()
        _check_widths("ConvGenerator", [], latent_dim=latent_dim, width=width)
        validate.integer(hidden, "hidden", "ConvGenerator", low=0)
        _check_classes(n_classes, "ConvGenerator")
        self.start = _check_image_shape(image_shape, blocks, "ConvGenerator")
        self.latent_dim, self.image_shape, self.n_classes = latent_dim, tuple(image_shape), n_classes
        channels = [width * min(2 ** (blocks - 1 - i), 8) for i in range(blocks)]  # e.g. 256, 128, 64, 32, 32
        sizes = [latent_dim + (n_classes or 0)] + ([hidden] if hidden else []) + [channels[0] * self.start[0] * self.start[1]]
        self.project = nn.Sequential(*[layer for size_in, size_out in zip(sizes, sizes[1:]) for layer in
                                       (nn.Linear(size_in, size_out), nn.BatchNorm1d(size_out), nn.ReLU())])
        layers: list[nn.Module] = []
        for cin, cout in zip(channels, channels[1:]):
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]
        layers += [nn.ConvTranspose2d(channels[-1], 1, 4, stride=2, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.channels = channels

    def code(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The generator's input: z, with a one-hot code of `labels` appended for a conditional generator."""
        who = type(self).__name__
        check_batch(z, self.latent_dim, who, "z")
        if not self.n_classes:
            return z
        labels = check_labels(labels, len(z), self.n_classes, who, rows_of="z")
        return torch.cat([z, nn.functional.one_hot(labels, self.n_classes).to(z.dtype)], dim=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate one image per row of `z` (of the class in `labels`, for a conditional generator)."""
        code = self.code(z, labels)
        return self.net(self.project(code).reshape(len(z), self.channels[0], *self.start))


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised Gaussian over ±3 sigma (a single 1 for sigma 0)."""
    half = math.ceil(3 * sigma)
    if not half:
        return torch.ones(1)
    kernel = torch.exp(-0.5 * (torch.arange(-half, half + 1, dtype=torch.float32) / sigma) ** 2)
    return kernel / kernel.sum()


class HarmonicGenerator(ConvGenerator):
    """A source-filter generator of log-magnitude spectrogram images [N, 1, bins, frames] in [-1, 1].

    A voice is a source (pulses at the pitch f0, whose spectrum is a comb of harmonics at f0, 2 f0, 3 f0, ...)
    filtered by the vocal tract (the envelope). The convolutional trunk draws two maps: the envelope and, per pixel,
    how harmonic the sound is there (0: noise, as in 's'; 1: voiced). A small head draws each clip's pitch contour:
    a base pitch in `pitch_range` (starting at its geometric middle) and a smooth bend of up to ±`glide` (in log
    frequency) through `knots` points, from one hidden layer of `pitch_hidden` units. The image is the envelope
    times the comb, mixed with flat noise by the harmonicity, in the codec's units:
    image = envelope + log(h * comb + (1 - h) + floor) / scale, where
    `image_scale` is the codec's clip_std * std per bin (log-magnitude per image unit). Drawing stripes a few pixels
    apart at exact multiples of one frequency is hard for transposed convolutions; here the comb is computed, and the
    networks only choose its pitch and where. The envelope is smoothed along the height by a Gaussian of
    `envelope_smoothing` bins (0: not at all), because the trunk's stride-2 transposed convolutions leave a pattern
    repeating every 2 and 4 rows (4 bins of 31.25 Hz is 125 Hz, a pitch), which a generator can use to draw stripes
    that no comb explains.
    """

    def __init__(self, latent_dim: int = 100, image_shape: Sequence[int] = (128, 64), width: int = 16,
                 blocks: int = 5, n_classes: int | None = None, hidden: int = 0, *, hz_per_bin: float,
                 image_scale: torch.Tensor, pitch_range: tuple[float, float] = (70.0, 250.0), knots: int = 16,
                 glide: float = 0.25, floor: float = 0.03, envelope_smoothing: float = 1.5, pitch_hidden: int = 32):
        super().__init__(latent_dim, image_shape, width, blocks, n_classes, hidden)
        who = "HarmonicGenerator"
        bins, frames = self.image_shape
        validate.number(hz_per_bin, "hz_per_bin", who, low=0, low_open=True)
        validate.tensor(image_scale, "image_scale", who, shape=(bins,))
        if bool((image_scale <= 0).any()):
            raise ValueError(f"{who}: `image_scale` must be positive (the codec's clip_std * std per bin)")
        if not isinstance(pitch_range, (tuple, list)) or len(pitch_range) != 2:
            raise ValueError(f"{who}: `pitch_range` must be (low, high) in Hz, got {pitch_range!r}")
        low, high = (validate.number(f, "pitch_range", who, low=0, low_open=True) for f in pitch_range)
        if not low < high < bins * hz_per_bin:
            raise ValueError(f"{who}: `pitch_range` must be (low, high) with 0 < low < high < the top bin's "
                             f"{bins * hz_per_bin:.0f} Hz, got {pitch_range}")
        validate.integer(knots, "knots", who, low=2, high=frames)
        validate.number(glide, "glide", who, low=0)
        validate.number(floor, "floor", who, low=0, low_open=True, high=1)
        validate.number(envelope_smoothing, "envelope_smoothing", who, low=0, high=bins / 8)
        validate.integer(pitch_hidden, "pitch_hidden", who, low=1)
        self.pitch_range, self.knots, self.glide, self.floor = (float(low), float(high)), knots, glide, floor
        self.envelope_smoothing = float(envelope_smoothing)
        last = self.net[-2]  # the trunk's last layer draws two maps, envelope and harmonicity, not one image
        self.net[-2] = nn.ConvTranspose2d(last.in_channels, 2, 4, stride=2, padding=1)
        self.net[-1] = nn.Identity()
        self.pitch_head = nn.Sequential(nn.Linear(latent_dim + (n_classes or 0), pitch_hidden), nn.ReLU(),
                                        nn.Linear(pitch_hidden, 1 + knots))
        with torch.no_grad():
            self.pitch_head[-1].bias.zero_()  # every contour starts flat at the range's geometric middle
        self.register_buffer("bin_hz", torch.arange(bins, dtype=torch.float32) * hz_per_bin)
        self.register_buffer("image_scale", image_scale.detach().float().reshape(bins, 1).clone())
        self.register_buffer("smoothing_kernel", _gaussian_kernel(self.envelope_smoothing).reshape(1, 1, -1, 1))

    def _pitch(self, code: torch.Tensor) -> torch.Tensor:
        """Each clip's pitch contour f0 [N, frames] in Hz, from the generator's input code."""
        base, bend = self.pitch_head(code).float().split([1, self.knots], dim=1)
        bend = nn.functional.interpolate(bend[:, None], size=self.image_shape[1], mode="linear", align_corners=True)[:, 0]
        low, high = self.pitch_range
        log_f0 = math.log(low) + math.log(high / low) * torch.sigmoid(base) + self.glide * torch.tanh(bend)
        return log_f0.exp().clamp(low, high)

    def parts(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """What the image is made of: `envelope` and `harmonicity` [N, bins, frames], `pitch_hz` [N, frames]."""
        code = self.code(z, labels)
        maps = self.net(self.project(code).reshape(len(z), self.channels[0], *self.start)).float()
        return {"envelope": self._smooth(torch.tanh(maps[:, 0])), "harmonicity": torch.sigmoid(maps[:, 1]),
                "pitch_hz": self._pitch(code)}

    def _smooth(self, envelope: torch.Tensor) -> torch.Tensor:
        """The envelope [N, bins, frames] smoothed along the bins (edges repeated), so it cannot draw stripes."""
        half = self.smoothing_kernel.shape[2] // 2
        if not half:
            return envelope
        padded = nn.functional.pad(envelope[:, None], (0, 0, half, half), mode="replicate")
        return nn.functional.conv2d(padded, self.smoothing_kernel.to(envelope.dtype))[:, 0]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Generate one spectrogram image per row of `z` (of the digit in `labels`, for a conditional generator)."""
        parts = self.parts(z, labels)
        comb = (1 + torch.cos(2 * math.pi * self.bin_hz[:, None] / parts["pitch_hz"][:, None, :])) / 2
        mix = parts["harmonicity"] * comb + (1 - parts["harmonicity"])
        return (parts["envelope"] + torch.log(mix + self.floor) / self.image_scale).clamp(-1, 1)[:, None]


class ConvDiscriminator(nn.Module):
    """DCGAN-shaped critic: images [N, 1, H, W] -> one score each, [N]. No batch norm, so WGAN-GP applies.

    Strided convolutions shrink the image `blocks` times; the flattened map (through a hidden layer of `hidden`
    units first, when `hidden` > 0) gives the score. With `n_classes`, it is a projection discriminator (Miyato and
    Koyama, 2018): forward(x, labels) adds the inner product of a learnt class embedding with the features. With
    `detail_bins`, a second, fully convolutional critic judges only the fine detail along the height (the image minus
    its average over that many rows: a spectrogram's harmonic stripes without its envelope), patch by patch, and
    its mean score is added.
    """

    def __init__(self, image_shape: Sequence[int] = (128, 64), width: int = 32, blocks: int = 5,
                 spectral_norm: bool = False, n_classes: int | None = None, hidden: int = 0, detail_bins: int = 0):
        super().__init__()
        _check_widths("ConvDiscriminator", [], width=width)
        validate.integer(detail_bins, "detail_bins", "ConvDiscriminator", low=0)
        if detail_bins % 2 == 0 and detail_bins:
            raise ValueError(f"ConvDiscriminator: `detail_bins` must be 0 (off) or odd (a window centred on each row), "
                             f"got {detail_bins}")
        validate.flag(spectral_norm, "spectral_norm", "ConvDiscriminator")
        validate.integer(hidden, "hidden", "ConvDiscriminator", low=0)
        _check_classes(n_classes, "ConvDiscriminator")
        end = _check_image_shape(image_shape, blocks, "ConvDiscriminator")
        if detail_bins >= image_shape[0]:
            raise ValueError(f"ConvDiscriminator: `detail_bins` must be below the image height {image_shape[0]}, "
                             f"got {detail_bins}")
        self.image_shape, self.n_classes = tuple(image_shape), n_classes
        wrap = parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        channels = [1] + [width * min(2**i, 8) for i in range(blocks)]  # e.g. 1, 32, 64, 128, 256, 256
        layers: list[nn.Module] = []
        for cin, cout in zip(channels, channels[1:]):
            layers += [wrap(nn.Conv2d(cin, cout, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        features = channels[-1] * end[0] * end[1]
        layers.append(nn.Flatten())
        if hidden:
            layers += [wrap(nn.Linear(features, hidden)), nn.LeakyReLU(0.2)]
            features = hidden
        self.net = nn.Sequential(*layers)
        self.score = wrap(nn.Linear(features, 1))
        if n_classes:
            self.class_embedding = wrap(nn.Embedding(n_classes, features))
        self.detail_bins = detail_bins
        if detail_bins:  # a patch critic of fine detail along the height (for spectrograms: harmonic stripes)
            # full resolution along the height, where the stripes are; half along the width, which they do not need
            self.detail = nn.Sequential(wrap(nn.Conv2d(1, width, (5, 4), stride=(1, 2), padding=(2, 1))), nn.LeakyReLU(0.2),
                                        wrap(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
                                        wrap(nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1)), nn.LeakyReLU(0.2),
                                        wrap(nn.Conv2d(2 * width, 1, 1)))

    def fine_detail(self, x: torch.Tensor) -> torch.Tensor:
        """x minus its moving average over `detail_bins` rows: what is left once the smooth envelope is removed."""
        half = self.detail_bins // 2
        padded = nn.functional.pad(x, (0, 0, half, half), mode="replicate")
        return x - nn.functional.avg_pool2d(padded, (self.detail_bins, 1), stride=1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Scores (logits for the cross-entropy losses), given the claimed class for a conditional critic."""
        validate.tensor(x, "x", "ConvDiscriminator", shape=(None, 1, *self.image_shape))
        features = self.net(x)
        score = self.score(features).squeeze(1)
        if self.n_classes:
            labels = check_labels(labels, len(x), self.n_classes, "ConvDiscriminator", rows_of="x")
            score = score + (self.class_embedding(labels) * features).sum(dim=1)
        if self.detail_bins:
            score = score + self.detail(self.fine_detail(x)).mean(dim=(1, 2, 3))
        return score


def replace_layers(network: nn.Module, layer_type: type[nn.Module] | tuple[type[nn.Module], ...],
                   make_replacement: Callable[[nn.Module], nn.Module]) -> int:
    """Swap every layer of `layer_type` inside `network` (at any depth) for make_replacement(layer), in place;
    returns how many were swapped. For example, `replace_layers(G, nn.BatchNorm2d, lambda _: nn.Identity())`."""
    if not isinstance(network, nn.Module):
        raise TypeError(f"replace_layers: `network` must be a torch network (nn.Module), got {type(network).__name__}")
    types = layer_type if isinstance(layer_type, tuple) else (layer_type,)
    if not types or not all(isinstance(kind, type) and issubclass(kind, nn.Module) for kind in types):
        raise TypeError(f"replace_layers: `layer_type` must be a layer class such as nn.ReLU, or a tuple of them, "
                        f"got {layer_type!r}")
    if not callable(make_replacement):
        raise TypeError("replace_layers: `make_replacement` must be a function from the old layer to a new one")
    swapped = 0
    for name, child in network.named_children():
        if isinstance(child, layer_type):
            setattr(network, name, make_replacement(child))
            swapped += 1
        else:
            swapped += replace_layers(child, layer_type, make_replacement)
    return swapped


@torch.no_grad()
def dcgan_initialise(network: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN's initialisation (Radford et al., 2016): convolution and linear weights ~ N(0, std), biases 0; batch-norm
    scales ~ N(1, std), shifts 0. Returns the network, changed in place."""
    if not isinstance(network, nn.Module):
        raise TypeError(f"dcgan_initialise: `network` must be a torch network (nn.Module), got {type(network).__name__}")
    validate.number(std, "std", "dcgan_initialise", low=0, low_open=True)
    for layer in network.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.modules.batchnorm._BatchNorm)):
            is_norm = isinstance(layer, nn.modules.batchnorm._BatchNorm)
            if layer.weight is not None:
                nn.init.normal_(layer.weight, 1.0 if is_norm else 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return network


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None,
             chunk_size: int = 1024) -> torch.Tensor:
    """Samples for every row of z (and label, for a conditional generator), in eval mode and in chunks, on the CPU."""
    if not isinstance(generator, nn.Module):
        raise TypeError(f"generate: `generator` must be a torch network (nn.Module), got {type(generator).__name__}")
    validate.tensor(z, "z", "generate", ndim=2)
    validate.integer(chunk_size, "chunk_size", "generate")
    n_classes = getattr(generator, "n_classes", None)
    if n_classes:
        validate.labels(labels, len(z), n_classes, "generate", rows_of="z")
    elif labels is not None:
        raise ValueError("generate: `labels` were given, but the generator is not class-conditional")
    with eval_mode(generator):
        if labels is None:
            return torch.cat([generator(chunk) for chunk in z.split(chunk_size)]).cpu()
        return torch.cat([generator(chunk, y) for chunk, y in zip(z.split(chunk_size), labels.split(chunk_size))]).cpu()
