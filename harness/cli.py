"""`cv3`: the command line, a thin layer over harness functions.

    cv3 list                                  assignments, tasks and points
    cv3 test detection                        public tests against your package, in-process
    cv3 grade detection SUBMISSIONS           sandboxed grading with hidden tests (folder or zip,
                                              or a folder of them, one per student)
    cv3 check detection                       course-author self-check
    cv3 grade ... --executor dask --scheduler tls://host:8786    grade on a Dask cluster's nodes
    cv3 worker --scheduler tls://host:8786 [--gpus N]          start a grading node of that cluster
    cv3 leaderboard detection                 leaderboard HTML from the results store
    cv3 feedback detection --out feedback/    student-view reports, one folder or zip per student
    cv3 export detection --out grades.csv     gradebook CSV (one row per student)
    cv3 store check | backup | restore        integrity check, backup, restore of the results store
    cv3 release detection --out handout/      the student handout
    cv3 new NAME                              scaffold a new assignment that passes `cv3 check`
    cv3 stubs NAME                            regenerate the student stubs from the reference
    cv3 docs                                  regenerate the docs that come from the manifests
    cv3 calibrate NAME                        time the reference and documented alternatives,
                                              propose speed bands
    cv3 pack detection                        check your package like the grader, write the zip
    cv3 init [--rotate]                       create (or replace) the course key of held-out data

Nothing here imports torch before a command needs it: `cv3 list` and `cv3 --help` are instant.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

DEFAULT_STORE = Path("results") / "cv3.sqlite"
DEFAULT_REPORTS = Path("reports")


def _store(args, *, existing: bool = False, context: str = ""):
    """The results store of ``--store``. ``existing`` (reading commands: export, leaderboard,
    feedback) refuses a store that does not exist instead of creating an empty one (exit 1). A
    missing, damaged or locked store ends the command with one line naming the file and the fix
    (``context`` first, e.g. "no results for 'detection'")."""
    from harness.store import ResultStore, StoreError

    try:
        return ResultStore.open_existing(args.store) if existing else ResultStore(args.store)
    except StoreError as e:
        print(f"error: {context + ': ' if context else ''}{e}", file=sys.stderr)
        raise SystemExit(1 if existing else 2) from None


def cmd_list(args) -> int:
    from harness.manifest import list_assignments

    for a in list_assignments():
        print(f"{a.name}: {a.title}  ({a.max_score:g} points)")
        for c in a.checks:
            print(f"  {c.id:<16} {c.points:>5g}  {c.title} ({c.describe()})")
        print(f"  {'total':<16} {sum(c.points for c in a.checks):>5g}")
    return 0


def cmd_test(args) -> int:
    import pytest

    from harness.manifest import find_assignment

    a = find_assignment(args.assignment)
    student_dir = Path(args.student_dir).resolve() if args.student_dir else a.root
    if not (student_dir / a.package / "__init__.py").is_file():
        print(f"error: no package '{a.package}' in {student_dir} (expected {a.package}/__init__.py)",
              file=sys.stderr)
        return 2
    sys.path.insert(0, str(student_dir))
    import os

    os.environ["CV3_STUDENT_DIR"] = str(student_dir)
    from harness import testkit

    # the test kit by module, whether or not its entry point is installed (no double registration)
    return int(pytest.main([str(a.public_tests_dir), "-q", "-p", "no:cacheprovider", "-p", "no:cv3",
                            "-W", "ignore::pytest.PytestAssertRewriteWarning", *args.pytest_args],
                           plugins=[testkit]))


class _TestArgs(argparse.ArgumentParser):
    """`cv3 test`'s parser: its options before or after the assignment; pytest's after `--` (an
    option cv3 does not know goes to pytest too, as `nox -s test -- NAME -k iou` passes it)."""

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        tail = []
        if "--" in args:
            args, tail = args[:args.index("--")], args[args.index("--") + 1:]
        ns, extra = super().parse_known_args(args, namespace)
        ns.pytest_args = [*extra, *tail]
        return ns, []


def cmd_pack(args) -> int:
    from harness.manifest import find_assignment
    from harness.static_checks import pack_command

    a = find_assignment(args.assignment)
    student_dir = Path(args.student_dir) if args.student_dir else a.root
    return pack_command(student_dir, Path(args.out or f"{a.name}-submission.zip"), package=a.package,
                        forbidden=a.forbidden_modules, api=a.api, forbidden_apis=a.forbidden_apis)


def cmd_init(args) -> int:
    from harness import secret

    path = Path(args.key_file) if args.key_file else secret.key_file()
    try:
        if args.rotate:
            path, old = secret.rotate_key(path)
            print(f"new course key {path} (id {secret.key_id(secret.read_key(path))}): held-out data changes "
                  "from the next grading on")
            if old is not None:
                print(f"the old key is kept as {old} (CV3_COURSE_KEY_FILE={old} regrades with it)")
            return 0
        try:
            secret.create_key(path)
            print(f"created the course key {path} (id {secret.key_id(secret.read_key(path))}); keep it private "
                  "and out of version control; `cv3 init --rotate` replaces it between terms")
        except FileExistsError:
            print(f"the course key {path} exists (id {secret.key_id(secret.read_key(path))}); "
                  "`cv3 init --rotate` replaces it")
    except (secret.CourseKeyError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _roster(path: str | None) -> dict[str, str] | None:
    if not path:
        return None
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"error: roster {p} not found")
    with open(p, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = [c.lower() for c in reader.fieldnames or []]
        if "student_id" not in fields:
            raise SystemExit(f"error: roster {p} needs a 'student_id' column (and optionally 'name'); "
                             f"found columns {reader.fieldnames}")
        out = {}
        for row in reader:
            row = {k.lower(): (v or "").strip() for k, v in row.items() if k}
            if row.get("student_id"):
                out[row["student_id"]] = row.get("name", "")
        return out


def cmd_grade(args) -> int:
    from harness.batch import grade_batch
    from harness.executors import ExecutorLost
    from harness.manifest import find_assignment
    from harness.reports import write_all, write_gradebook_csv
    from harness.sandbox import GPUUnavailable, SandboxUnavailable
    from harness.sandbox.docker_backend import DockerUnavailable
    from harness.store import StoreError
    from harness.submissions import SubmissionError, discover

    a = find_assignment(args.assignment)
    try:
        sources = discover(Path(args.submissions), a.package)
    except SubmissionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not sources:
        print(f"error: no submissions found in {args.submissions}", file=sys.stderr)
        return 2
    roster = _roster(args.roster)
    try:
        executor = _executor(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    store = _store(args)
    where = f"{args.jobs} job(s)" if executor is None else executor.describe()
    print(f"grading {len(sources)} submission(s) of '{a.name}' with the {args.backend} backend, "
          f"{where}", file=sys.stderr)
    options = {"backend": args.backend, "isolation": args.isolation, "gpu": args.gpus,
               "accept_no_cgroups": args.accept_no_cgroups}
    if args.image:
        options["image"] = args.image
    try:
        summary = grade_batch(a, sources, store, jobs=args.jobs, regrade=args.regrade,
                              sandbox_options=options, speed=not args.no_speed, executor=executor)
    except ExecutorLost as e:  # e.g. the Dask scheduler went away: what arrived is stored
        print(f"error: {e}", file=sys.stderr)
        return 3
    except (DockerUnavailable, GPUUnavailable, SandboxUnavailable, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except StoreError as e:  # a finished result the store could not take (it was spooled)
        print(f"error: {e}", file=sys.stderr)
        return 1
    results = store.all(a.name)
    from harness.manifest import list_assignments

    index = write_all(store.all(), Path(args.reports),
                      policies={x.name: x.visibility for x in list_assignments()})
    gradebook = write_gradebook_csv(results, Path(args.reports) / a.name / "gradebook.csv", roster=roster,
                                    names={k: v[0] for k, v in store.identities(a.name).items()})
    _print_summary(summary.graded, a.max_score)
    _print_nodes(summary.graded)
    if roster:
        missing = sorted(set(roster) - {r.submission_id for r in results})
        unknown = sorted({r.submission_id for r in results} - set(roster))
        if missing:
            print(f"missing submissions (in the roster, not graded): {', '.join(missing)}")
        if unknown:
            print(f"submissions not in the roster: {', '.join(unknown)}")
    elsewhere = f", {len(summary.elsewhere)} graded by another grader" if summary.elsewhere else ""
    print(f"graded {len(summary.graded)}, skipped {len(summary.skipped)} already graded{elsewhere}, "
          f"in {summary.wall_s:.1f} s")
    print(f"reports: {index}\ngradebook: {gradebook}\nstore: {args.store}")
    return 0


def _executor(args):
    """The executor of `cv3 grade --executor` (None: the local pool of --jobs processes)."""
    if args.executor == "local":
        if args.scheduler or args.scheduler_file:
            raise ValueError("--scheduler/--scheduler-file need --executor dask")
        return None
    from harness.executors import make_executor
    from harness.executors.dask import security

    return make_executor("dask", scheduler=args.scheduler, scheduler_file=args.scheduler_file, ship=args.ship,
                         security=security(ca_file=args.tls_ca_file, cert=args.tls_cert, key=args.tls_key))


def _print_nodes(results) -> None:
    """Which grading node graded what (results graded on a cluster only)."""
    by_node: dict[str, list] = {}
    for r in results:
        if r.environment.get("node"):
            by_node.setdefault(r.environment["node"], []).append(r)
    for node, rs in sorted(by_node.items()):
        retried = sum(1 for r in rs if r.environment.get("retries"))
        print(f"node {node}: {len(rs)} graded" + (f" ({retried} after a retry)" if retried else "") + ": "
              + ", ".join(sorted(r.submission_id for r in rs)))


def cmd_worker(args) -> int:
    from harness.executors.dask import worker_command

    try:
        argv, env = worker_command(scheduler=args.scheduler, scheduler_file=args.scheduler_file, gpus=args.gpus,
                                   jobs=args.node_jobs, name=args.name, backend=args.backend, image=args.image,
                                   isolation=args.isolation, accept_no_cgroups=args.accept_no_cgroups,
                                   device=args.device, tls=(args.tls_ca_file, args.tls_cert, args.tls_key),
                                   extra=args.dask_args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.print_command:
        import shlex

        print(f"CV3_NODE={shlex.quote(env['CV3_NODE'])} {shlex.join(argv)}")
        return 0
    import os

    os.execvpe(argv[0], argv, env)  # the dask worker takes this process over (signals included)


def _print_summary(results, max_score) -> None:
    if not results:
        return
    width = max(len(r.submission_id) for r in results)
    print(f"{'student':<{width}}  {'score':>13}  status  note")
    for r in sorted(results, key=lambda r: r.submission_id):
        note = (r.error or (r.warnings[0] if r.warnings else "")).splitlines()
        print(f"{r.submission_id:<{width}}  {r.score:>6.2f}/{r.max_score:<6g}  {r.status:<6}  "
              f"{(note[0][:70] if note else '')}")


def cmd_check(args) -> int:
    from harness.authoring import self_check
    from harness.manifest import find_assignment

    a = find_assignment(args.assignment)
    if args.coverage:
        from harness.coverage_report import TARGET, measure, report_lines

        figures = measure(a)
        ok = figures["lines"] >= TARGET
        print(f"[{'ok' if ok else 'FAIL'}] the tests reach {figures['lines']:.1%} of the reference's lines "
              f"({figures['branches']:.1%} of its branches); target {TARGET:.0%}")
        for line in report_lines(a, figures):
            print(f"    {line}")
        return 0 if ok else 1
    if args.mutants:
        from harness.mutants import TARGET as MUTANTS_TARGET, run as run_mutants

        try:
            report = run_mutants(a, seed=args.mutants_seed, limit=args.mutants_limit,
                                 accuracy=args.mutants_accuracy, modules=args.mutants_module)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        print("\n".join(report.lines()))
        ok = report.share() >= MUTANTS_TARGET
        print(f"[{'ok' if ok else 'FAIL'}] the tests kill {report.share():.1%} of the non-equivalent mutants; "
              f"target {MUTANTS_TARGET:.0%}")
        return 0 if ok else 1
    return 0 if self_check(a, isolation=args.isolation, speed=not args.no_speed) else 1


def cmd_new(args) -> int:
    from harness.authoring import scaffold

    try:
        files = scaffold(args.name, title=args.title or "")
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from harness.manifest import repo_root

    root = repo_root()
    print(f"created the assignment '{args.name}':")
    for f in files:
        print(f"  {f.relative_to(root)}")
    print(f"next: edit reference/{args.name}/{args.name}/ (solution between # BEGIN SOLUTION and "
          f"# END SOLUTION), run `cv3 stubs {args.name}`, then `cv3 check {args.name}`")
    return 0


def cmd_stubs(args) -> int:
    from harness.manifest import find_assignment, repo_root
    from harness.stubgen import stale_stubs, tasks_by_name, write_stubs

    a = find_assignment(args.assignment)
    if args.check:
        stale = stale_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
        for line in stale:
            print(line)
        return 1 if stale else 0
    written = write_stubs(a.reference_dir, a.stub_dir, tasks_by_name=tasks_by_name(a))
    for p in written:
        print(f"wrote {p.relative_to(repo_root()) if p.is_relative_to(repo_root()) else p}")
    print(f"stubs of '{a.name}' are up to date ({len(written)} file(s) changed)")
    return 0


def cmd_docs(args) -> int:
    from harness.authoring import stale_docs, write_docs

    if args.check:
        stale = stale_docs()
        for line in stale:
            print(line)
        return 1 if stale else 0
    for p in write_docs():
        print(f"wrote {p}")
    return 0


def cmd_calibrate(args) -> int:
    from harness.calibrate import calibrate
    from harness.manifest import find_assignment

    return calibrate(find_assignment(args.assignment), regrades=args.regrades, checks=args.check or None)


def cmd_leaderboard(args) -> int:
    from harness.manifest import find_assignment
    from harness.reports import write_index, write_leaderboard
    from harness.reports.render import leaderboard_frame

    a = find_assignment(args.assignment)
    store = _store(args, existing=True, context=f"no results for '{a.name}'")
    results = store.all(a.name)
    if not results:
        print(f"no results for '{a.name}' in {args.store}; run `cv3 grade` first", file=sys.stderr)
        return 1
    path = write_leaderboard(a.name, results, Path(args.reports))
    write_index(store.all(), Path(args.reports))
    frame, task_cols, _ = leaderboard_frame(results)
    shown = ["rank", "student_id", "score", "max_score", "status", *[c[0] for c in task_cols]]
    if frame["speed_gmean"].notna().any():
        shown.append("speed_gmean")
    print(frame[shown].head(args.top).to_string(index=False))
    print(f"\nleaderboard: {path}")
    if args.publish:
        from harness.reports.feedback import publish_leaderboard

        policy = a.visibility.replace(released=True) if args.released else a.visibility
        names = args.names or (policy.leaderboard if policy.leaderboard != "none" else "pseudonyms")
        published = publish_leaderboard(a, results, Path(args.publish), policy=policy, names=names,
                                        key=_pseudonym_key(args) if names == "pseudonyms" else None,
                                        optin=_optin_names(args))
        print(f"published leaderboard ({names}, {'final' if policy.released else 'public scores only'}): "
              f"{published}")
    return 0


def _pseudonym_key(args) -> bytes:
    from harness.reports.feedback import KEY_FILE, load_key

    return load_key(Path(args.key) if args.key else Path(args.store).parent / KEY_FILE)


def _optin_names(args) -> dict[str, str] | None:
    from harness.reports.feedback import read_optin_names

    if not args.roster:
        return None
    if not Path(args.roster).is_file():
        raise SystemExit(f"error: roster {args.roster} not found")
    try:
        return read_optin_names(Path(args.roster))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None


def cmd_feedback(args) -> int:
    from harness.manifest import find_assignment
    from harness.reports.feedback import write_feedback

    a = find_assignment(args.assignment)
    results = _store(args, existing=True, context=f"no results for '{a.name}'").all(a.name)
    if not results:
        print(f"no results for '{a.name}' in {args.store}; run `cv3 grade` first", file=sys.stderr)
        return 1
    policy = a.visibility.replace(released=True) if args.released else a.visibility
    mode = args.leaderboard or policy.leaderboard
    items = write_feedback(a, results, Path(args.out), policy=policy, leaderboard=mode,
                           key=_pseudonym_key(args) if mode == "pseudonyms" else None,
                           optin=_optin_names(args), as_zip=args.zip)
    kind = "zip" if args.zip else "folder"
    print(f"wrote {len(items)} student feedback {kind}(s) of '{a.name}' to {args.out} "
          f"(student view; leaderboard: {mode}{', released' if policy.released else ''})")
    return 0


def cmd_export(args) -> int:
    from harness.manifest import find_assignment
    from harness.reports.gradebook import gradebook_counts, gradebook_frame, gradebook_notes, write_lms_csv

    a = find_assignment(args.assignment)
    store = _store(args, existing=True)
    results = store.all(a.name)
    roster = _roster(args.roster)
    if not results and not roster:
        print(f"error: no results for '{a.name}' in {args.store}; run `cv3 grade` first", file=sys.stderr)
        return 1
    identities = store.identities(a.name)
    out = Path(args.out or f"{a.name}-gradebook{'' if args.format == 'plain' else '-' + args.format}.csv")
    try:
        write_lms_csv(results, out, fmt=args.format, item=args.item or a.title, roster=roster,
                      errors=args.errors, missing=args.missing, identities=identities)
    except ValueError as e:  # e.g. Moodle participant ids mixed with other ids
        print(f"error: {e}", file=sys.stderr)
        return 2
    counts = gradebook_counts(gradebook_frame(results, roster))
    notes = gradebook_notes(results, roster)
    if notes:  # never a silent zero: each row without a grade, and why
        policy = {"error": args.errors, "missing": args.missing}
        print(f"{len(notes)} row(s) without a grade (--errors/--missing zero writes 0 instead of a blank):",
              file=sys.stderr)
        width = max(len(sid) for sid, _, _ in notes)
        for sid, status, reason in notes:
            written = "0" if policy.get(status, "blank") == "zero" else "blank"
            print(f"  {sid:<{width}}  {status:<7}  written as {written:<5}  {reason}", file=sys.stderr)
    others = "".join(f", {n} {k}" for k, n in counts.items() if k not in ("graded", "error", "missing"))
    print(f"wrote {out} ({args.format} layout): graded {counts['graded']}, error {counts['error']}, "
          f"missing {counts['missing']}{others}")
    return 0


def cmd_store(args) -> int:
    from harness.store import ResultStore, StoreCorrupt, StoreError

    try:
        if args.store_command == "restore":
            backup, moved = ResultStore.restore(args.store, args.backup)
            kept = f"; the replaced file is kept as {moved}" if moved else ""
            print(f"restored {args.store} from {backup}{kept}")
            return 0
        store = ResultStore.open_existing(args.store)
        if args.store_command == "backup":
            path = store.backup(Path(args.out) if args.out else None)
            print(f"backed up {args.store} to {path}")
            return 0
        info = store.check()
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if isinstance(e, StoreCorrupt) else 2
    print(f"{args.store}: ok (full integrity check); {info['results']} result(s) "
          f"({', '.join(info['assignments']) or 'no assignments'}), {info['history']} earlier result(s) "
          "in history")
    for c in info["open_claims"]:
        state = "expired" if c["expired"] else "active"
        print(f"  claim ({state}): {c['assignment']}/{c['submission_id']} by {c['owner']}")
    backups = info["backups"]
    print(f"backups: {len(backups)}" + (f", newest {backups[-1]}" if backups else f" (none in {store.backup_dir})"))
    if info["unsaved"]:
        print(f"unsaved results waiting in {store.spool_dir}: {len(info['unsaved'])} "
              "(the next `cv3 grade` stores them)")
    return 0


def cmd_release(args) -> int:
    from harness.authoring import release
    from harness.manifest import find_assignment

    a = find_assignment(args.assignment)
    try:
        handout = release(a, Path(args.out))
    except RuntimeError as e:  # the leak check refused the handout
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"wrote the '{a.name}' handout to {handout.path} ({len(handout.files)} files; "
          "no reference code, no hidden tests)")
    return 0


def cmd_image(args) -> int:
    from harness.sandbox.docker_backend import DockerUnavailable
    from harness.sandbox.image import ImageBuildError, build_image

    try:
        info = build_image(tag=args.tag, offline=args.offline, base_image=args.base_image,
                           torch_spec=args.torch_spec, record=Path(args.record),
                           log=lambda line: print(line, file=sys.stderr))
    except (DockerUnavailable, ImageBuildError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"built {info['tag']} ({info['digest']}) in {info['build_s']:.0f} s; recorded in {args.record}")
    return 0


def _tls_options(sp) -> None:
    sp.add_argument("--tls-ca-file", help="dask: TLS CA certificate (PEM); with --tls-cert and --tls-key")
    sp.add_argument("--tls-cert", help="dask: this machine's TLS certificate (PEM)")
    sp.add_argument("--tls-key", help="dask: this machine's TLS private key (PEM)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cv3", description="Grading harness for the CV3 course.")
    sub = p.add_subparsers(dest="command", required=True)

    def storage(sp):
        sp.add_argument("--store", default=str(DEFAULT_STORE), help="results database (SQLite)")
        sp.add_argument("--reports", default=str(DEFAULT_REPORTS), help="folder for HTML reports")

    sub.add_parser("list", help="list assignments and their tasks").set_defaults(func=cmd_list)

    sp = sub.add_parser("test", help="run the public tests against your package (no sandbox)",
                        usage="cv3 test [-h] [--student-dir DIR] assignment [-- PYTEST_ARGS...]")
    sp.__class__ = _TestArgs  # options before or after the assignment, pytest's after `--`
    sp.add_argument("assignment")
    sp.add_argument("--student-dir", help="folder holding your package (default: assignments/<name>)")
    sp.set_defaults(func=cmd_test, pytest_args=[])

    sp = sub.add_parser("pack", help="check your package like the grader and write the zip to hand in")
    sp.add_argument("assignment")
    sp.add_argument("--student-dir", help="folder holding your package (default: assignments/<name>)")
    sp.add_argument("--out", help="the zip to write (default: <assignment>-submission.zip)")
    sp.set_defaults(func=cmd_pack)

    sp = sub.add_parser("init", help="create the course key behind the held-out data (instructors)")
    sp.add_argument("--rotate", action="store_true", help="replace the key (between terms; the old one is kept)")
    sp.add_argument("--key-file", help="default: $CV3_COURSE_KEY_FILE or results/course.key")
    sp.set_defaults(func=cmd_init)

    sp = sub.add_parser("grade", help="grade submissions in the sandbox with the hidden tests")
    sp.add_argument("assignment")
    sp.add_argument("submissions", help="a submission (folder or .zip) or a folder of them")
    sp.add_argument("--backend", default="local", choices=["local", "docker"],
                    help="local: bubblewrap/process sandbox (default); docker: one container per worker")
    sp.add_argument("--isolation", default="auto", choices=["auto", "bubblewrap", "none-trusted-code"],
                    help="local backend only")
    sp.add_argument("--accept-no-cgroups", action="store_true",
                    help="local backend: grade as root without pids/memory cgroups (a fork bomb is not bounded)")
    sp.add_argument("--image", help="docker backend: grading image (default cv3-grader:latest)")
    sp.add_argument("--gpus", action="store_true", help="pass the host's GPUs to the workers; "
                    "refuses to start if none is visible inside the sandbox")
    sp.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    sp.add_argument("--regrade", action="store_true", help="grade again even if already graded")
    sp.add_argument("--no-speed", action="store_true", help="skip speed checks")
    sp.add_argument("--roster", help="CSV with student_id[,name] to flag missing submissions")
    sp.add_argument("--executor", default="local", choices=["local", "dask"],
                    help="local: a process pool here (--jobs, default); dask: the grading nodes of a Dask "
                    "cluster (--scheduler or --scheduler-file; pip install 'cv3-harness[dask]')")
    sp.add_argument("--scheduler", help="dask: the scheduler's address, e.g. tls://sched:8786")
    sp.add_argument("--scheduler-file", help="dask: the scheduler file `dask scheduler --scheduler-file` wrote")
    sp.add_argument("--ship", default="bytes", choices=["bytes", "path"],
                    help="dask: send each submission's files with its job (checked against their hash on the "
                    "node; default) or let nodes read them from shared storage (TMPDIR shared)")
    _tls_options(sp)
    storage(sp)
    sp.set_defaults(func=cmd_grade)

    sp = sub.add_parser("worker", help="start a grading node of a Dask cluster (a dask worker with the "
                        "harness preloaded; student code runs in the sandbox configured here)")
    sp.add_argument("--scheduler", help="the scheduler's address, e.g. tls://sched:8786")
    sp.add_argument("--scheduler-file", help="the scheduler file `dask scheduler --scheduler-file` wrote")
    sp.add_argument("--gpus", type=int, default=0, help="GPU slots: jobs that need a GPU, one per GPU")
    sp.add_argument("--jobs", type=int, default=None, dest="node_jobs",
                    help="CPU job slots (default 1, or 0 with --gpus: GPU slots are never taken by CPU work)")
    sp.add_argument("--name", help="node name in progress and summaries (default: the host name)")
    sp.add_argument("--backend", default=None, choices=["local", "docker"], help="the sandbox on this node "
                    "(default: what the coordinator asks for)")
    sp.add_argument("--image", help="docker backend: grading image on this node")
    sp.add_argument("--isolation", default=None, choices=["auto", "bubblewrap", "none-trusted-code"])
    sp.add_argument("--accept-no-cgroups", action="store_true", default=None)
    sp.add_argument("--device", choices=["cpu", "cuda"], help="pin the device graded on (default: cuda for GPU "
                    "jobs, cpu otherwise)")
    sp.add_argument("--print-command", action="store_true", help="print the dask worker command and exit")
    sp.add_argument("dask_args", nargs="*", help="after --: more `dask worker` options (e.g. --host)")
    _tls_options(sp)
    sp.set_defaults(func=cmd_worker)

    sp = sub.add_parser("check", help="course-author self-check of an assignment")
    sp.add_argument("assignment")
    sp.add_argument("--isolation", default="auto", choices=["auto", "bubblewrap", "none-trusted-code"])
    sp.add_argument("--no-speed", action="store_true")
    sp.add_argument("--coverage", action="store_true",
                    help="only: line and branch coverage of the reference by the public and hidden tests")
    sp.add_argument("--mutants", action="store_true",
                    help="only: the share of one-mistake variants of the reference that its tests kill")
    sp.add_argument("--mutants-seed", type=int, default=0, help="--mutants: the seed of the sample")
    sp.add_argument("--mutants-limit", type=int, default=150, help="--mutants: at most this many variants")
    sp.add_argument("--mutants-module", action="append", metavar="FILE",
                    help="--mutants: only variants of this module of the package (e.g. boxes.py); repeatable")
    sp.add_argument("--mutants-accuracy", action="store_true",
                    help="--mutants: also grade a mutant that passes every test by the accuracy checks; one "
                         "that loses points there is killed (slower: the held-out data per survivor)")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("leaderboard", help="write and print the leaderboard")
    sp.add_argument("assignment")
    sp.add_argument("--top", type=int, default=20)
    storage(sp)
    sp.add_argument("--publish", metavar="FILE", help="also write a leaderboard students may see to FILE: "
                    "no links or per-check data; public scores only until results are released")
    sp.add_argument("--names", choices=["pseudonyms", "ids"],
                    help="names on the published leaderboard (default: the manifest's [visibility] leaderboard)")
    sp.add_argument("--roster", help="CSV with student_id and leaderboard_name (or opt_in and name): opt-in names")
    sp.add_argument("--released", action="store_true", help="results are released: show private scores")
    sp.add_argument("--key", help="pseudonym key file (default: pseudonyms.key next to the store)")
    sp.set_defaults(func=cmd_leaderboard)

    sp = sub.add_parser("feedback", help="one student-view feedback folder (or zip) per student")
    sp.add_argument("assignment")
    sp.add_argument("--out", required=True, help="folder for the bundles")
    sp.add_argument("--zip", action="store_true", help="one zip per student instead of a folder")
    sp.add_argument("--leaderboard", choices=["pseudonyms", "ids", "none"],
                    help="bundle an anonymised leaderboard (default: the manifest's [visibility] leaderboard)")
    sp.add_argument("--roster", help="CSV with student_id and leaderboard_name (or opt_in and name): opt-in names")
    sp.add_argument("--released", action="store_true",
                    help="results are released: after_release checks and private scores are shown")
    sp.add_argument("--key", help="pseudonym key file (default: pseudonyms.key next to the store)")
    sp.add_argument("--store", default=str(DEFAULT_STORE), help="results database (SQLite)")
    sp.set_defaults(func=cmd_feedback)

    sp = sub.add_parser("export", help="write the gradebook CSV")
    sp.add_argument("assignment")
    sp.add_argument("--out")
    sp.add_argument("--roster")
    sp.add_argument("--format", default="plain", choices=["plain", "moodle", "canvas"],
                    help="plain: one column per task; moodle/canvas: the LMS's grade import layout")
    sp.add_argument("--item", help="grade item / assignment name in the LMS (default: the assignment title)")
    sp.add_argument("--errors", default="blank", choices=["blank", "zero"],
                    help="submissions that could not be graded: blank (default; listed on stderr) or 0")
    sp.add_argument("--missing", default="blank", choices=["blank", "zero"],
                    help="roster students without a submission: blank (default; listed on stderr) or 0")
    sp.add_argument("--store", default=str(DEFAULT_STORE), help="results database (must exist)")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("store", help="the results store: backup, integrity check")
    ssub = sp.add_subparsers(dest="store_command", required=True)
    sb = ssub.add_parser("backup", help="a consistent copy of the store (default: backups/ beside it)")
    sb.add_argument("--store", default=str(DEFAULT_STORE), help="results database")
    sb.add_argument("--out", help="where to write the copy")
    sc = ssub.add_parser("check", help="full integrity check; what the store holds, claims, backups")
    sc.add_argument("--store", default=str(DEFAULT_STORE), help="results database")
    sr = ssub.add_parser("restore", help="replace a damaged store by its newest backup (the damaged "
                         "file is kept beside it)")
    sr.add_argument("--store", default=str(DEFAULT_STORE), help="results database")
    sr.add_argument("--from", dest="backup", help="the backup to restore (default: the newest automatic one)")
    sp.set_defaults(func=cmd_store)

    sp = sub.add_parser("image", help="the Docker grading image")
    isub = sp.add_subparsers(dest="image_command", required=True)
    ib = isub.add_parser("build", help="build the grading image and record its digest")
    ib.add_argument("--tag", default="cv3-grader:latest")
    ib.add_argument("--offline", action="store_true",
                    help="no container registry: debootstrap + docker import (needs root)")
    ib.add_argument("--base-image", default="python:3.11-slim",
                    help="Dockerfile builds: a public Python or PyTorch (CUDA) image")
    ib.add_argument("--torch-spec", default="torch==2.14.1 torchvision==0.29.1")
    ib.add_argument("--record", default=str(Path("results") / "image.json"))
    ib.set_defaults(func=cmd_image)

    sp = sub.add_parser("release", help="write the student handout")
    sp.add_argument("assignment")
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_release)

    sp = sub.add_parser("new", help="scaffold a new assignment (passes `cv3 check` at once)")
    sp.add_argument("name", help="lower_snake_case; also the package name")
    sp.add_argument("--title", help="one-line title (default: from the name)")
    sp.set_defaults(func=cmd_new)

    sp = sub.add_parser("stubs", help="generate the student stubs from the reference's markers")
    sp.add_argument("assignment")
    sp.add_argument("--check", action="store_true", help="only report stale stubs (exit 1 if any)")
    sp.set_defaults(func=cmd_stubs)

    sp = sub.add_parser("docs", help="regenerate README's assignments table and docs/manifest.md")
    sp.add_argument("--check", action="store_true", help="only report stale docs (exit 1 if any)")
    sp.set_defaults(func=cmd_docs)

    sp = sub.add_parser("calibrate", help="time the reference and documented alternatives; "
                        "propose full_ratio/zero_ratio for each speed check")
    sp.add_argument("assignment")
    sp.add_argument("--regrades", type=int, default=3, help="measurements per solution (default 3)")
    sp.add_argument("--check", action="append", help="only this speed check id (repeatable)")
    sp.set_defaults(func=cmd_calibrate)
    return p


def main(argv: list[str] | None = None) -> int:
    from harness.manifest import ManifestError

    import signal

    args = build_parser().parse_args(argv)

    def _terminate(signum, frame):  # SIGTERM cleans up like Ctrl-C: containers removed, results kept
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    if getattr(args, "jobs", 1) < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ManifestError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished submissions are saved; rerun the same command to "
              "grade the rest", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
