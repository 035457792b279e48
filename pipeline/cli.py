"""Command line: ``article-pipeline run | report | train | eval | explain``; ``--help`` on each.

Exit codes
----------
===  ==========================================================================================
0    success: every input page was processed
1    failure, nothing written (OUT and INDEX untouched): a missing input path, an unwritable
     output folder, a full disk, a missing, modified or incompatible model, an internal error
2    usage error (unknown option, missing argument)
3    success, but bad inputs were skipped: one ``warning: FILE[:LINE]: reason`` line each on
     stderr, all listed in OUT/summary.json ("skipped"); or the inputs hold no page at all
     (an empty folder, a glob matching no page): one ``warning:`` line, nothing written, OUT
     and INDEX untouched
4    ``--strict`` met a bad input (a skipped page, or a warning such as a renamed duplicate id):
     nothing written, OUT and INDEX untouched
130  interrupted (Ctrl-C): nothing written
===  ==========================================================================================

Every failure is one line on stderr, ``article-pipeline: error: <what>``, for example::

    article-pipeline: error: input not found: dumps/missing
    article-pipeline: error: cannot write output folder /ro/out: Not a directory
    article-pipeline: error: No space left on device (/data/.out.versions/…/paragraphs.parquet)
    article-pipeline: error: m.joblib: sha256 3f2a61711527… does not match its card; refusing to unpickle
    article-pipeline: error: 2 bad input(s), first: a.jsonl:7: malformed JSON (…) (--strict: …)

``--debug`` (before or after the command name) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from pipeline.errors import BadInputError, PipelineError

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_SKIPPED, EXIT_STRICT, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="article-pipeline",
        description="Turn raw text dumps of news pages into clean, deduplicated, topic-labelled articles.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    # --debug is accepted after the command name too; SUPPRESS keeps a subcommand's default from
    # overriding a --debug given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        parents=[common],
        help="process page dumps into OUT/{paragraphs,articles}.parquet",
        description="Process page dumps into OUT/paragraphs.parquet, OUT/articles.parquet and "
        "OUT/summary.json. Exit 0 when every page was processed, 3 when bad inputs were skipped "
        "(listed in summary.json), 1 on failure, 4 when --strict met a bad input.",
    )
    run.add_argument(
        "dumps", nargs="+", metavar="DUMP", help="file or folder (.txt, .jsonl[.gz], .csv, .parquet)"
    )
    run.add_argument("--out", required=True, help="output folder (replaced atomically)")
    run.add_argument("--index", help="same-story index on disk, matched and extended (created if missing)")
    run.add_argument("--model", help="topic model (default: models/topic.joblib)")
    run.add_argument("--line-model", help="line-role model (default: models/lines.joblib)")
    run.add_argument("--jobs", type=positive_int, default=None, help="worker processes (default 1)")
    run.add_argument(
        "--engine", choices=("local", "dask"), default="local", help="where chunks run (default local)"
    )
    run.add_argument("--scheduler", help="dask: scheduler address tcp://HOST:PORT (default: a LocalCluster)")
    run.add_argument("--workers", type=positive_int, help="dask: LocalCluster worker processes (default 2)")
    run.add_argument(
        "--partition-pages", type=positive_int, help="dask: pages per partition (default 2000, whole chunks)"
    )
    run.add_argument("--strict", action="store_true", help="any bad input fails the run, nothing written")
    run.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    run.add_argument("--no-report", action="store_true", help="do not write OUT/report.html")

    report = commands.add_parser(
        "report",
        parents=[common],
        help="(re)build OUT/report.html, or one page's view",
        description="Rebuild OUT/report.html from an existing OUT, or with --page write the view of "
        "one page (every line coloured by role, with its duplicates, topic and reasons).",
    )
    report.add_argument("out", metavar="OUT", help="a run's output folder")
    report.add_argument("--page", metavar="DOC_ID", help="write this page's view instead of the report")
    report.add_argument("--dest", help="file for --page (default OUT/page-<hash of DOC_ID>.html)")
    report.add_argument(
        "--max-pages",
        type=positive_int,
        default=200,
        metavar="N",
        help="page views in the report (default 200)",
    )

    train = commands.add_parser("train", parents=[common], help="train the topic (or line-role) model")
    train.add_argument(
        "--data",
        nargs="+",
        required=True,
        metavar="LABELS",
        help="gold folder(s) or .csv/.jsonl/.parquet with text,label (lines: gold or zyte-style folders)",
    )
    train.add_argument(
        "--kind", choices=("topic", "lines"), default="topic", help="which model to train (default topic)"
    )
    train.add_argument(
        "--out", default=None, help="model path (default: models/topic.joblib or lines.joblib)"
    )

    evaluate = commands.add_parser(
        "eval", parents=[common], help="score models on gold folders (--cv: out-of-fold, refitting both)"
    )
    evaluate.add_argument(
        "--gold", nargs="+", required=True, metavar="DIR", help="line-gold folder(s) or zyte-style folders"
    )
    evaluate.add_argument("--model", help="topic model (default: models/topic.joblib)")
    evaluate.add_argument("--line-model", help="line-role model (default: models/lines.joblib)")
    evaluate.add_argument("--cv", action="store_true", help="cross-validate: train both models per fold")
    evaluate.add_argument("--folds", type=positive_int, default=5, help="folds for --cv (default 5)")
    evaluate.add_argument("--out", default="out/eval", help="run folders and eval.json (default out/eval)")

    explain = commands.add_parser(
        "explain", parents=[common], help="terms that pushed a paragraph on or off topic"
    )
    explain.add_argument("text", nargs="+", help="paragraph text")
    explain.add_argument("--model", help="topic model (default: models/topic.joblib)")
    explain.add_argument("--top", type=positive_int, default=8, help="terms to show each way")
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.runtime import long_lived_startup, reuse_freed_memory

    options = engine_options(args)
    if args.own_process:
        reuse_freed_memory()
        startup = long_lived_startup()
    else:
        startup = contextlib.nullcontext()
    with startup:
        from pipeline.engines import run_batch
        from pipeline.errors import NoPagesError
        from pipeline.learn.store import load_models

        models = load_models(args.model, args.line_model)
    try:
        summary = run_batch(
            args.dumps,
            args.out,
            models,
            index_path=args.index,
            strict=args.strict,
            progress=None if not args.quiet else False,
            report=not args.no_report,
            **options,
        )
    except NoPagesError as err:
        print(f"warning: {err}", file=sys.stderr)
        return EXIT_SKIPPED
    if not args.quiet:
        print_summary(Path(args.out), summary)
    return EXIT_SKIPPED if summary["skipped"] else EXIT_OK


def engine_options(args: argparse.Namespace) -> dict:
    """run_batch's engine arguments; options of the other engine are a usage error."""
    dask_only = {
        "scheduler": args.scheduler,
        "workers": args.workers,
        "partition_pages": args.partition_pages,
    }
    if args.engine == "local":
        given = [f"--{k.replace('_', '-')}" for k, v in dask_only.items() if v is not None]
        if given:
            build_parser().error(f"{', '.join(given)}: only with --engine dask")
        return {"jobs": args.jobs or 1}
    if args.jobs is not None:
        build_parser().error("--jobs: only with --engine local (use --workers)")
    return {"engine": "dask", **dask_only}


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.report import write_page_view, write_report

    if args.page is not None:
        path = write_page_view(Path(args.out), args.page, Path(args.dest) if args.dest else None)
    else:
        path = write_report(Path(args.out), max_page_views=args.max_pages)
    print(f"wrote {path}")
    return EXIT_OK


def print_summary(out: Path, summary: dict) -> None:
    print(f"wrote {out}/paragraphs.parquet, {out}/articles.parquet, {out}/summary.json")
    print(
        f"pages {summary['pages']}  lines {summary['lines']}  skipped {len(summary['skipped'])}  "
        f"seconds {summary['seconds']['total']:.2f}"
    )
    print("roles  " + "  ".join(f"{k} {v}" for k, v in summary["roles"].items()))
    print("topics " + "  ".join(f"{k} {v}" for k, v in summary["topics"].items()))
    print("dups   " + "  ".join(f"{k} {v}" for k, v in summary["duplicates"].items()))
    if "report" in summary["seconds"]:
        print(f"report open {out}/report.html")


def cmd_train(args: argparse.Namespace) -> int:
    from pipeline import config

    if args.kind == "lines":
        from pipeline.training.lines import train_line_model

        out = Path(args.out) if args.out else config.default_line_model()
        card = train_line_model([Path(d) for d in args.data], out)
        print(f"wrote {out} ({card['training_data']['lines']} lines)")
        return EXIT_OK
    from pipeline.training.topic import train_topic_model

    out = Path(args.out) if args.out else config.default_topic_model()
    card = train_topic_model(args.data, out)
    print(f"wrote {out} ({card['training_data']['lines']} lines, threshold {card['threshold']:.3f})")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline import config
    from pipeline.evaluation.evaluate import evaluate
    from pipeline.learn.store import load_models

    if args.cv:
        evaluate(args.gold, args.out, n_folds=args.folds, pr_curve=Path(args.out) / "topic-pr.png")
        return EXIT_OK
    model = Path(args.model) if args.model else config.default_topic_model()
    models = load_models(model, args.line_model)
    evaluate(args.gold, args.out, models=models, pr_curve=model.with_suffix(".pr.png"))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from pipeline.learn.store import load_models
    from pipeline.learn.topicmodel import explain

    model = load_models(args.model).topic
    for line in explain(model, " ".join(args.text), top=args.top):
        print(line)
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "train": cmd_train,
    "eval": cmd_eval,
    "explain": cmd_explain,
}


def main(argv: list[str] | None = None) -> int:
    """The command line. Run as the program (`argv` None: sys.argv), `run` also sets up its own
    process (pipeline.runtime); called with an argument list, by a host program or a test, it
    leaves the process as it is."""
    args = build_parser().parse_args(argv)
    args.own_process = argv is None
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("article-pipeline: interrupted, nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if args.debug:
            raise
        print(f"article-pipeline: error: {one_line(err)}", file=sys.stderr)
        return EXIT_STRICT if isinstance(err, BadInputError) else EXIT_FAIL


def one_line(err: BaseException) -> str:
    """`err` as one short line: the message of a known error, else its type and first line."""
    if isinstance(err, OSError) and err.strerror:
        where = err.filename if err.filename is not None else None
        message = f"{err.strerror} ({where})" if where else err.strerror
    else:
        lines = str(err).strip().splitlines()
        message = lines[0] if lines else ""
        if not isinstance(err, PipelineError):
            message = f"{type(err).__name__}: {message}" if message else type(err).__name__
            message += " (run with --debug for the traceback)"
    from pipeline.stages.decode import printable

    return printable(message, limit=300)


if __name__ == "__main__":
    sys.exit(main())
