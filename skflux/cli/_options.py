"""Option types and option groups shared by the ``skflux`` subcommands (private).

Every value is checked when the command line is parsed, so a bad option stops
the command with exit status 2, naming the option, before any work starts.
"""

import argparse
import math

from ._errors import CommandError, OptionError

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
    """The classifier the training options of ``args`` describe.

    Where ``args`` resumes a review log (``args.recorded_from``, see
    :func:`check_recorded`), a value the classifier refuses that came from the
    log is blamed on the log, not on an option the user never typed.
    """
    kwargs = dict(module=args.module, epochs=args.epochs, batch_size=args.batch_size,
                  lr=args.lr, device=args.device, seed=args.seed, params=args.param)
    kwargs.update(overrides)
    try:
        return make_classifier(**kwargs)
    except OptionError as exc:
        key = _KEY_OF.get(exc.option)
        if key is None or key not in getattr(args, "recorded_keys", ()):
            raise
        reason = str(exc).partition(": ")[2]
        raise CommandError(_recorded_message(args, key, getattr(args, key), reason)) from exc


# --------------------------------------------------------------------------- recorded options
def port(text):
    """A TCP port, 0 (any free one) to 65535."""
    value = nonneg_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {value}")
    return value


def _text_or_none(value):
    if value is not None and not isinstance(value, str):
        raise argparse.ArgumentTypeError(f"expected a text, got {value!r}")
    return value


def _module(value):
    if value not in MODULES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(MODULES)}")
    return value


def _params(value):
    if not isinstance(value, (list, tuple)):
        raise argparse.ArgumentTypeError("expected a list of KEY=VALUE pairs")
    for pair in value:
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or not isinstance(pair[0], str) or not pair[0].isidentifier()):
            raise argparse.ArgumentTypeError(f"{pair!r} is not a KEY=VALUE pair")
    return value


def _flag(value):
    if not isinstance(value, bool):
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return value


def _as_text(check):
    """An option type applied to a recorded JSON value (numbers as they were typed)."""
    def apply(value):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise argparse.ArgumentTypeError(f"expected a value like {check.__name__}, got "
                                             f"{value!r}")
        return check(str(value))
    return apply


#: recorded option -> (its flag, the check of its value)
_RECORDED_CHECKS = {
    "device": ("--device", _as_text(device)), "module": ("--module", _module),
    "epochs": ("--epochs", _as_text(positive_int)),
    "batch_size": ("--batch-size", _as_text(positive_int)),
    "lr": ("--lr", _as_text(positive_float)), "n_jobs": ("--n-jobs", _as_text(n_jobs)),
    "seed": ("--seed", _as_text(nonneg_int)), "param": ("--param", _params),
    "max_passes": ("--max-passes", _as_text(positive_int)),
    "stop_ratio": ("--stop-ratio", _as_text(fraction)), "port": ("--port", _as_text(port)),
    "host": ("--host", _text_or_none), "out": ("--out", _text_or_none),
    "passes_json": ("--passes-json", _text_or_none), "model": ("--model", _text_or_none),
    "reviewer_name": ("--reviewer-name", _text_or_none), "no_browser": ("--no-browser", _flag),
    "truth_coord": ("--truth-coord", _text_or_none),
}
_KEY_OF = {flag: key for key, (flag, _) in _RECORDED_CHECKS.items()}


def _recorded_message(args, key, value, reason):
    flag = _RECORDED_CHECKS[key][0]
    shown = " ".join(f"{k}={v!r}" for k, v in value) if key == "param" else repr(value)
    fix = (f"give {flag} to 'skflux review' to replace it" if key in args.recorded_overridable
           else f"{flag} decides which models the log's passes were trained with, so a "
                "resumed log keeps it: rerun on a machine where it works, or start a new log "
                "with 'skflux relabel'")
    return (f"review log {args.recorded_from}: {flag} {shown} was recorded by the 'skflux "
            f"relabel' run that created the log (it was not typed on this command line) and "
            f"cannot be used here: {reason}; {fix}")


def check_recorded(args, log_path, keys, overridable=()):
    """Check option values read back from a review log, blaming the log for a bad one.

    Parameters
    ----------
    args : argparse.Namespace
        The options of the resumed run; ``args.recorded_from``,
        ``args.recorded_keys`` and ``args.recorded_overridable`` are set, so
        that :func:`classifier_from_args` blames the log too.
    log_path : path-like
        The review log the values came from.
    keys : iterable of str
        The options whose values came from the log (not typed by the user).
    overridable : iterable of str
        Those the resuming command may replace (the message says how).

    Raises
    ------
    CommandError
        Naming the log, the option, the recorded value and why it cannot be
        used (the same checks as the command line's).
    """
    args.recorded_from = str(log_path)
    args.recorded_keys = frozenset(keys)
    args.recorded_overridable = frozenset(overridable)
    for key in sorted(args.recorded_keys & set(_RECORDED_CHECKS)):
        value = getattr(args, key)
        try:
            _RECORDED_CHECKS[key][1](value)
        except argparse.ArgumentTypeError as exc:
            raise CommandError(_recorded_message(args, key, value, str(exc))) from None
    return args


def network_warning(host, source=""):
    """A warning (or "") when the review page on ``host`` is reachable from the network."""
    from ..relabel._web._server import network_exposure

    exposed = network_exposure(host)
    return f"the review page will listen on {host}{source}, {exposed}" if exposed else ""
