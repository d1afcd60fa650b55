using System.Text;

namespace SharpBpf.Verification;

/// <summary>
/// The verifier log as the kernel's <c>bpf_verifier_log</c> keeps it (kernel/bpf/log.c): positions count every character
/// written since the start, resets move the end back, and a buffer of <c>size</c> bytes (a terminating zero included)
/// keeps the last <c>size - 1</c> characters (rotating, the default since 6.4) or the first ones (BPF_LOG_FIXED).
/// </summary>
internal sealed class VerifierLog(int size, bool fixedStart)
{
    private readonly StringBuilder _text = new();

    // Positions: [_start, _start + _text.Length) is held; _end is where the next character goes.
    private long _start;
    private long _end;

    /// <summary>Where the next character goes (the kernel's <c>end_pos</c>).</summary>
    public long End => _end;

    /// <summary>The buffer size the whole log would have needed, its terminating zero included (<c>log_true_size</c>).</summary>
    public long TrueSize { get; private set; }

    /// <summary>Whether characters were lost because the log outgrew its size (the kernel's load then fails with ENOSPC).</summary>
    public bool Truncated => size > 0 && TrueSize > size;

    private int Capacity => size > 0 ? size - 1 : int.MaxValue;

    public void Append(string text)
    {
        _end += text.Length;
        TrueSize = Math.Max(TrueSize, _end + 1);
        if (fixedStart)
        {
            int room = Capacity - _text.Length;
            _text.Append(text, 0, Math.Clamp(text.Length, 0, Math.Max(room, 0)));
            return;
        }

        _text.Append(text);
        if (_text.Length > 2L * Capacity)
        {
            // Drop the head in large steps so that keeping the tail costs little per character.
            int drop = _text.Length - Capacity;
            _text.Remove(0, drop);
            _start += drop;
        }
    }

    /// <summary>Moves the end back to <paramref name="position"/> (the kernel's <c>bpf_vlog_reset</c>).</summary>
    public void Reset(long position)
    {
        if (position > _end || position < 0)
        {
            return;
        }

        _end = position;
        if (_end < _start)
        {
            // Everything held was written after the position: nothing useful is left.
            _start = _end;
        }

        long held = _end - _start;
        if (held < _text.Length)
        {
            _text.Length = (int)held;
        }
    }

    public override string ToString() =>
        _text.Length > Capacity ? _text.ToString(_text.Length - Capacity, Capacity) : _text.ToString();
}
