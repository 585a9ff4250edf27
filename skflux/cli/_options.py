"""Option types and option groups shared by the ``skflux`` subcommands (private).

Every value is checked when the command line is parsed, so a bad option stops
the command with exit status 2, naming the option, before any work starts.
"""

import argparse
import math

from ._errors import OptionError

MODULES = ("vgg", "vgg3d")  # FluxEmergenceClassifier's built-in networks


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def nonneg_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def n_jobs(text):
    """joblib's ``n_jobs``: a positive number of workers, or -1 (all cores), -2...."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer or -1 (all cores), got 0")
    return value


def positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def device(text):
    """A torch device that exists on this machine (``cpu``, ``cuda``, ``cuda:1``...)."""
    import torch

    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a torch device (e.g. cpu, cuda, cuda:0)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA device on this machine; use cpu")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r}: unsupported device type; use cpu or cuda")
    return text


def key_value(text):
    """``KEY=VALUE`` with VALUE a Python literal (number, string, tuple...) or a bare word."""
    import ast

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a parameter name (e.g. module__width=8), got {text!r}"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key, value


def common_options(suppress):
    """Options accepted both before and after the subcommand."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("common options")
    default = argparse.SUPPRESS if suppress else False
    group.add_argument("-q", "--quiet", action="store_true", default=default,
                       help="only warnings and errors; no progress bars")
    group.add_argument("--debug", action="store_true", default=default,
                       help="debug logging and full tracebacks on failure")
    return parent


def add_training_options(parser, *, epochs_default=20):
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=epochs_default,
                   help="maximum epochs per model (early stopping on validation accuracy; "
                        "default %(default)s)")
    g.add_argument("--device", type=device, default="cpu",
                   help="torch device, e.g. cpu or cuda (default %(default)s)")
    g.add_argument("--module", choices=MODULES, default="vgg",
                   help="network: vgg (the paper's) or vgg3d (default %(default)s)")
    g.add_argument("--batch-size", type=positive_int, default=10,
                   help="videos per batch (default %(default)s)")
    g.add_argument("--lr", type=positive_float, default=1e-4,
                   help="SGD learning rate (default 1e-4)")
    g.add_argument("--param", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                   help="any other FluxEmergenceClassifier parameter, e.g. module__width=8 "
                        "or optimizer__momentum=0.8 (repeatable)")
    g.add_argument("--n-jobs", type=n_jobs, default=1,
                   help="models trained in parallel (joblib; -1: all cores; default "
                        "%(default)s)")
    g.add_argument("--seed", type=nonneg_int, default=0,
                   help="random seed (default %(default)s)")


# classifier parameter -> the option that sets it
_OPTION_OF = {"module": "--module", "max_epochs": "--epochs", "batch_size": "--batch-size",
              "lr": "--lr", "device": "--device", "random_state": "--seed"}


def make_classifier(*, module="vgg", epochs=20, batch_size=10, lr=1e-4, device="cpu", seed=0,
                    params=()):
    """A checked :class:`skflux.FluxEmergenceClassifier` from command-line options.

    Raises :class:`OptionError` naming the option when the classifier refuses a
    value (checked now, before any training).
    """
    import re

    from sklearn.base import clone

    from ..nn import FluxEmergenceClassifier

    kwargs = dict(module=module, max_epochs=epochs, batch_size=batch_size, lr=lr,
                  device=device, random_state=seed)
    kwargs.update(dict(params))
    try:
        clf = FluxEmergenceClassifier(**kwargs)
        clone(clf).initialize()  # builds the network: checks every parameter, trains nothing
    except (TypeError, ValueError, RuntimeError) as exc:
        text = " ".join(str(exc).split())
        name = re.search(r"'(\w+)' parameter", text)
        option = _OPTION_OF.get(name.group(1), "--param") if name else "--param"
        raise OptionError(option, f"bad classifier parameter: {text}") from exc
    return clf


def classifier_from_args(args, **overrides):
    """The classifier the training options of ``args`` describe."""
    kwargs = dict(module=args.module, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, device=args.device, seed=args.seed, params=args.param)
    kwargs.update(overrides)
    return make_classifier(**kwargs)
