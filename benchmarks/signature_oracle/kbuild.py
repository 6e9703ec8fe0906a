"""Build side of the signature oracle: kernel, test modules, initramfs, QEMU boot.

Nothing here writes into the kernel tree it is given: the kernel is built with
`make O=OUTDIR` from the tree as it is, and `check_tree_untouched()` proves it
afterwards (no file in the tree newer than the build's start).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG_DIR = HERE / "config"
MODULE_DIR = HERE / "modules"
VARIANTS = ("voluntary", "dynamic")
MARK = "ORACLE-CASE"
DONE = "ORACLE-DONE"
# Pause after each case, longer than the rate limit of the report it makes:
# __might_resched() prints at most once per second (prev_jiffy + HZ), and
# warn_alloc() once per 10 s (nopage_rs: 10*HZ, burst 1).
PAUSE_SECONDS = 2
WARN_ALLOC_PAUSE_SECONDS = 11
WARN_ALLOC_CASES = ("atomic_", "nowait_")  # case-name prefixes of the page allocation failures


@dataclass
class Step:
    """One command the harness ran, and how long it took."""
    name: str
    command: str
    seconds: float
    skipped: bool = False


@dataclass
class Timings:
    steps: list[Step] = field(default_factory=list)

    def run(self, name: str, argv: list[str], log: Path, cwd: Path | None = None, timeout: float | None = None,
            env: dict | None = None) -> None:
        start = time.monotonic()
        with open(log, "ab") as out:
            out.write(f"\n$ {' '.join(argv)}\n".encode())
            out.flush()
            proc = subprocess.run(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                  env={**os.environ, **(env or {})})
        self.steps.append(Step(name, " ".join(argv), time.monotonic() - start))
        if proc.returncode != 0:
            raise SystemExit(f"signature_oracle: {name} failed (exit {proc.returncode}); see {log}")


def case_names() -> list[str]:
    """The test modules, one case each: modules/oracle_<case>.c."""
    return sorted(p.stem[len("oracle_"):] for p in MODULE_DIR.glob("oracle_*.c"))


def build_kernel(tree: Path, variant: str, outdir: Path, timings: Timings, jobs: int) -> Path:
    """tinyconfig + config/base.config + config/<variant>.config, built in OUTDIR."""
    image = outdir / "arch/x86/boot/bzImage"
    stamp = outdir / ".oracle-config"
    wanted = (CONFIG_DIR / "base.config").read_text() + (CONFIG_DIR / f"{variant}.config").read_text()
    if image.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        timings.steps.append(Step("kernel build", "(up to date)", 0.0, skipped=True))
        return image
    outdir.mkdir(parents=True, exist_ok=True)
    log = outdir / "oracle-build.log"
    started = time.time()
    make = ["make", "-C", str(tree), f"O={outdir}", "ARCH=x86_64"]
    timings.run("tinyconfig", make + ["tinyconfig"], log)
    timings.run("merge config", [str(tree / "scripts/kconfig/merge_config.sh"), "-m", "-O", str(outdir),
                                 str(outdir / ".config"), str(CONFIG_DIR / "base.config"),
                                 str(CONFIG_DIR / f"{variant}.config")], log, cwd=outdir)
    timings.run("olddefconfig", make + ["olddefconfig"], log)
    check_config(outdir / ".config", variant)
    timings.run("kernel build", make + [f"-j{jobs}", "bzImage", "modules"], log)
    check_tree_untouched(tree, started)
    stamp.write_text(wanted)
    return image


def check_config(config: Path, variant: str) -> None:
    """The options the cases depend on really ended up in the .config."""
    text = config.read_text()
    need = ["CONFIG_64BIT=y", "CONFIG_MODULES=y", "CONFIG_DEBUG_ATOMIC_SLEEP=y", "CONFIG_PREEMPT_COUNT=y",
            "CONFIG_SLUB=y", "CONFIG_UNWINDER_ORC=y", "CONFIG_HIGH_RES_TIMERS=y", "CONFIG_KALLSYMS=y",
            "CONFIG_SERIAL_8250_CONSOLE=y", "CONFIG_BLK_DEV_INITRD=y", "CONFIG_BUG=y", "CONFIG_PREEMPT_VOLUNTARY=y",
            "CONFIG_CPUSETS=y", "CONFIG_NUMA=y", "CONFIG_TRACEPOINTS=y"]
    if variant == "dynamic":
        need += ["CONFIG_PREEMPT_DYNAMIC=y", "CONFIG_PREEMPT_RCU=y"]
    else:
        need += ["# CONFIG_PREEMPT_DYNAMIC is not set"]
    missing = [n for n in need if n not in text.splitlines()]
    if variant != "dynamic" and "CONFIG_PREEMPT_RCU=y" in text.splitlines():
        missing.append("no CONFIG_PREEMPT_RCU")
    if missing:
        raise SystemExit(f"signature_oracle: {config}: the merged config lacks {', '.join(missing)}")


def check_tree_untouched(tree: Path, since: float) -> None:
    """Fail loudly if the build wrote anything into the kernel tree."""
    proc = subprocess.run(["find", str(tree), "-newermt", f"@{since:.0f}", "-print", "-quit"],
                          capture_output=True, text=True)
    if proc.stdout.strip():
        raise SystemExit(f"signature_oracle: the build wrote into the kernel tree: {proc.stdout.strip()}")


def build_modules(outdir: Path, moddir: Path, timings: Timings) -> dict[str, Path]:
    """Copy the case sources to MODDIR and build them against the kernel in OUTDIR."""
    if moddir.exists():
        shutil.rmtree(moddir)
    moddir.mkdir(parents=True)
    for src in MODULE_DIR.iterdir():
        if src.suffix in (".c", ".h"):
            shutil.copy2(src, moddir / src.name)
    cases = case_names()
    (moddir / "Kbuild").write_text("".join(f"obj-m += oracle_{c}.o\n" for c in cases))
    timings.run("modules", ["make", "-C", str(outdir), f"M={moddir}", "modules"], moddir / "oracle-modules.log")
    return {c: moddir / f"oracle_{c}.ko" for c in cases}


INIT = """#!/bin/sh
# signature oracle init: load each case with a marker line before and after it
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
echo 8 > /proc/sys/kernel/printk
for case in {cases}; do
    echo "{mark}-BEGIN $case" > /dev/kmsg
    insmod /cases/oracle_$case.ko
    echo "{mark}-END $case insmod=$?" > /dev/kmsg
    rmmod oracle_$case
    case $case in
        {warn_alloc_globs}) sleep {warn_alloc_pause} ;;
        *) sleep {pause} ;;
    esac
done
echo "{done}" > /dev/kmsg
sleep 1
reboot -f
"""


def make_initramfs(kos: dict[str, Path], workdir: Path, timings: Timings) -> Path:
    """A busybox initramfs whose /init runs every case."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    root = workdir / "initramfs"
    if root.exists():
        shutil.rmtree(root)
    for d in ("bin", "sbin", "proc", "sys", "dev", "cases"):
        (root / d).mkdir(parents=True)
    shutil.copy2(busybox, root / "bin/busybox")
    for applet in ("sh", "mount", "insmod", "rmmod", "sleep", "echo", "reboot", "cat"):
        (root / "bin" / applet).symlink_to("busybox")
    for case, ko in kos.items():
        shutil.copy2(ko, root / "cases" / ko.name)
    init = root / "init"
    init.write_text(INIT.format(cases=" ".join(kos), mark=MARK, done=DONE, pause=PAUSE_SECONDS,
                                warn_alloc_pause=WARN_ALLOC_PAUSE_SECONDS,
                                warn_alloc_globs="|".join(p + "*" for p in WARN_ALLOC_CASES)))
    init.chmod(0o755)
    image = workdir / "initramfs.cpio"
    start = time.monotonic()
    files = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    with open(image, "wb") as out:
        subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=files, stdout=out, check=True)
    timings.steps.append(Step("initramfs", "find . | cpio -o -H newc", time.monotonic() - start))
    return image


def boot(image: Path, initramfs: Path, console_log: Path, timings: Timings, timeout: float = 900) -> None:
    """Boot under QEMU (KVM when /dev/kvm opens and --kvm is given, TCG otherwise)."""
    argv = ["qemu-system-x86_64", "-machine", "q35", "-m", "256M", "-smp", "1", "-nographic", "-no-reboot",
            "-kernel", str(image), "-initrd", str(initramfs),
            "-append", "console=ttyS0 panic=-1 loglevel=8 printk.time=1",
            "-serial", f"file:{console_log}", "-monitor", "none", "-display", "none"]
    if os.environ.get("ORACLE_KVM") == "1" and os.access("/dev/kvm", os.R_OK | os.W_OK):
        argv[1:1] = ["-enable-kvm", "-cpu", "host"]
    else:
        argv[1:1] = ["-accel", "tcg"]
    if console_log.exists():
        console_log.unlink()
    # -no-reboot turns the init's `reboot -f` into QEMU's exit; should the guest
    # hang instead, the harness stops QEMU once the log says the cases are done.
    start = time.monotonic()
    with open(console_log.with_suffix(".qemu.log"), "wb") as out:
        qemu = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        done_at = None
        while qemu.poll() is None:
            time.sleep(1)
            if done_at is None and console_log.exists() and DONE in console_log.read_text(errors="replace"):
                done_at = time.monotonic()
            if (done_at is not None and time.monotonic() - done_at > 10) or time.monotonic() - start > timeout:
                qemu.terminate()
                qemu.wait(10)
    timings.steps.append(Step("boot", " ".join(argv), time.monotonic() - start))
    text = console_log.read_text(errors="replace")
    if DONE not in text:
        raise SystemExit(f"signature_oracle: the boot did not reach {DONE}; see {console_log}")
