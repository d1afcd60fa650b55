namespace SharpBpf.Runtime.Helpers;

/// <summary>One message a program wrote with <c>bpf_trace_printk</c>.</summary>
/// <param name="Message">The formatted text, up to its first NUL (at most 1023 bytes, as the kernel's buffer allows).</param>
/// <param name="ProcessorId">The CPU number of the execution context that wrote it.</param>
public sealed record TraceMessage(string Message, int ProcessorId);

/// <summary>Carries a <see cref="TraceMessage"/> to <see cref="TraceLog.MessageWritten"/> handlers.</summary>
public sealed class TraceMessageEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    public TraceMessageEventArgs(TraceMessage message) => Message = message;

    /// <summary>The message.</summary>
    public TraceMessage Message { get; }
}

/// <summary>
/// The VM's trace pipe: where <c>bpf_trace_printk</c> writes. Thread-safe; it keeps the newest
/// <see cref="Capacity"/> messages and raises <see cref="MessageWritten"/> for each one.
/// </summary>
public sealed class TraceLog
{
    private readonly Lock _lock = new();
    private readonly Queue<TraceMessage> _messages = new();

    /// <summary>Creates a log keeping at most <paramref name="capacity"/> messages.</summary>
    public TraceLog(int capacity = 10_000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    /// <summary>The number of messages kept; older ones are dropped.</summary>
    public int Capacity { get; }

    /// <summary>How many messages were dropped because the log was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Raised on the writing thread after each message.</summary>
    public event EventHandler<TraceMessageEventArgs>? MessageWritten;

    /// <summary>A snapshot of the kept messages, oldest first.</summary>
    public IReadOnlyList<TraceMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Appends a message.</summary>
    public void Write(TraceMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_lock)
        {
            if (_messages.Count == Capacity)
            {
                _messages.Dequeue();
                Dropped++;
            }

            _messages.Enqueue(message);
        }

        MessageWritten?.Invoke(this, new TraceMessageEventArgs(message));
    }

    /// <summary>Removes every message.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _messages.Clear();
        }
    }
}
