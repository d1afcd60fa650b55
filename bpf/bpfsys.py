"""Minimal bpf(2) / perf_event_open(2) plumbing for verify.py (ctypes, stdlib only).

Only what the verification needs: open pinned objects, read a BPF ring
buffer through mmap, and attach tracing programs for a moment (perf-event
tracepoints and kprobes, raw and BTF tracepoints). x86-64 and arm64 syscall
numbers are included; everything is closed by the caller.
"""

import ctypes
import mmap
import os
import platform
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

_SYSCALLS = {
    "x86_64": {"bpf": 321, "perf_event_open": 298},
    "aarch64": {"bpf": 280, "perf_event_open": 241},
}[platform.machine()]

BPF_OBJ_GET = 7
BPF_RAW_TRACEPOINT_OPEN = 17

PERF_TYPE_TRACEPOINT = 2
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_SET_BPF = 0x40042408
PERF_FLAG_FD_CLOEXEC = 8

RINGBUF_BUSY = 1 << 31
RINGBUF_DISCARD = 1 << 30


def _check(result, what):
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def _bpf(cmd, attr):
    buffer = ctypes.create_string_buffer(attr, 128)
    return _check(_libc.syscall(_SYSCALLS["bpf"], cmd, buffer, 128), f"bpf cmd {cmd}")


def obj_get(path):
    """File descriptor of a pinned program or map."""
    name = ctypes.create_string_buffer(str(path).encode())
    return _bpf(BPF_OBJ_GET, struct.pack("<QII", ctypes.addressof(name), 0, 0))


def raw_tracepoint_open(prog_fd, name=None):
    """Attach a raw_tp program to `name`, or a tp_btf program (name=None:
    the target was fixed at load time)."""
    keep = ctypes.create_string_buffer(name.encode()) if name else None
    return _bpf(BPF_RAW_TRACEPOINT_OPEN, struct.pack("<QI", ctypes.addressof(keep) if keep else 0, prog_fd))


def _perf_event_open(event_type, config, config1=0, config2=0, pid=0, cpu=-1):
    # struct perf_event_attr: type, size, config, sample_period, sample_type,
    # read_format, flag bits, wakeup_events, bp_type, config1, config2.
    attr = struct.pack("<IIQQQQQIIQQ", event_type, 128, config, 1, 0, 0, 0, 1, 0, config1, config2)
    buffer = ctypes.create_string_buffer(attr, 128)
    return _check(_libc.syscall(_SYSCALLS["perf_event_open"], buffer, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC),
                  "perf_event_open")


def _attach_perf(perf_fd, prog_fd):
    _check(_libc.ioctl(perf_fd, PERF_EVENT_IOC_SET_BPF, prog_fd), "PERF_EVENT_IOC_SET_BPF")
    _check(_libc.ioctl(perf_fd, PERF_EVENT_IOC_ENABLE, 0), "PERF_EVENT_IOC_ENABLE")
    return perf_fd


def attach_tracepoint(prog_fd, category, name, pid=0):
    """Attach a tracepoint program for events of process `pid` (0 = this one)."""
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        id_path = f"{root}/events/{category}/{name}/id"
        if os.path.exists(id_path):
            break
    else:
        raise FileNotFoundError(f"tracefs id of {category}:{name} (is tracefs mounted?)")
    with open(id_path) as handle:
        event_id = int(handle.read())
    return _attach_perf(_perf_event_open(PERF_TYPE_TRACEPOINT, event_id, pid=pid), prog_fd)


def kprobes_available():
    """True when the kernel offers the kprobe PMU (CONFIG_KPROBE_EVENTS)."""
    return os.path.exists("/sys/bus/event_source/devices/kprobe/type")


def attach_kprobe(prog_fd, function, pid=0):
    """Attach a kprobe program to `function` through the kprobe PMU."""
    with open("/sys/bus/event_source/devices/kprobe/type") as handle:
        pmu_type = int(handle.read())
    name = ctypes.create_string_buffer(function.encode())
    attach_kprobe.keep = name  # the kernel copies it, but keep it alive until then
    return _attach_perf(_perf_event_open(pmu_type, 0, ctypes.addressof(name), 0, pid=pid), prog_fd)


def read_ringbuf(map_fd, data_size):
    """Consumes every committed record of a BPF ring buffer; returns a list of bytes."""
    page = mmap.PAGESIZE
    consumer = mmap.mmap(map_fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
    producer = mmap.mmap(map_fd, page + 2 * data_size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
    records = []
    try:
        consumer_pos = struct.unpack_from("<Q", consumer, 0)[0]
        producer_pos = struct.unpack_from("<Q", producer, 0)[0]
        while consumer_pos < producer_pos:
            offset = page + (consumer_pos & (data_size - 1))
            header, _ = struct.unpack_from("<II", producer, offset)
            if header & RINGBUF_BUSY:
                break
            length = header & ~(RINGBUF_BUSY | RINGBUF_DISCARD)
            if not header & RINGBUF_DISCARD:
                records.append(bytes(producer[offset + 8:offset + 8 + length]))
            consumer_pos += (length + 8 + 7) & ~7
        struct.pack_into("<Q", consumer, 0, consumer_pos)
    finally:
        consumer.close()
        producer.close()
    return records
