using System.Globalization;

namespace SharpBpf.Verification.Explain;

/// <summary>
/// Records what the verifier saw while it walks: at each instruction visit, the whole state (every frame's registers,
/// stack slots and references) interned as values and states, up to the caps; and the current path's steps, so that
/// the path that fails is known with a state at each step whatever the caps dropped.
/// </summary>
internal sealed class VerifierRecorder
{
    private readonly ExplainBuilder _builder;
    private readonly IReadOnlyList<VerifierMap> _maps;
    private readonly List<TrailStep> _trail = [];
    private readonly Stack<int> _branchTrailLengths = new();
    private readonly List<int> _scratch = [];

    // The last formatting of each register and stack slot, by frame: states differ by a register or two per step.
    private readonly List<(RegisterState Reg, bool Precise, int Id)[]> _regCache = [];
    private readonly List<Dictionary<int, (ulong Types, RegisterState Reg, bool Precise, int Id)>> _slotCache = [];

    private struct TrailStep
    {
        public int Pc;
        public int Frame;
        public int Path;
        public int Visit;
        public int[]? Snapshot;
        public bool Pruned;
    }

    public VerifierRecorder(ExplainOptions options, IReadOnlyList<VerifierMap> maps)
    {
        _builder = new ExplainBuilder(options);
        _maps = maps;
    }

    /// <summary>The verifier is at <paramref name="pc"/> with <paramref name="state"/> (before checking the instruction).</summary>
    public void Visit(VerifierState state, int pc)
    {
        int frame = state.Current.FrameNo;
        int[] snapshot = Snapshot(state);
        var step = new TrailStep { Pc = pc, Frame = frame, Path = _builder.CurrentPath, Visit = -1 };
        if (_builder.MayRecord(pc) && _builder.State(snapshot) is var id and >= 0)
        {
            step.Visit = _builder.AddVisit(pc, frame, id);
        }
        else
        {
            step.Snapshot = snapshot;
        }

        _trail.Add(step);
        int window = _builder.Options.PathWindow;
        if (_trail.Count > window)
        {
            // Bounded memory on very long paths: the oldest unrecorded steps keep their place but lose their state.
            var old = _trail[^(window + 1)];
            old.Snapshot = null;
            _trail[^(window + 1)] = old;
        }
    }

    /// <summary>The state just visited was found equivalent to an explored one: the path ends there.</summary>
    public void MarkPruned()
    {
        if (_trail.Count == 0)
        {
            return;
        }

        var last = _trail[^1];
        last.Pruned = true;
        _trail[^1] = last;
        if (last.Visit >= 0)
        {
            _builder.MarkPruned(last.Visit);
        }
    }

    /// <summary>A branch was pushed to be explored later, from the current step.</summary>
    public void BranchPushed() => _branchTrailLengths.Push(_trail.Count);

    /// <summary>The most recent pending branch resumes: from <paramref name="fromPc"/> to <paramref name="toPc"/>.</summary>
    public void BranchPopped(int fromPc, int toPc)
    {
        int length = _branchTrailLengths.Count > 0 ? _branchTrailLengths.Pop() : 0;
        if (length < _trail.Count)
        {
            _trail.RemoveRange(length, _trail.Count - length);
        }

        _builder.NewPath(fromPc, toPc);
    }

    /// <summary>The report, once the verdict is known: on a rejection the current path is the failing one.</summary>
    public ExplainReport Finish(BpfProgramView program, VerifierResult result)
    {
        var failing = new List<int>();
        if (!result.Accepted)
        {
            // A path of a million steps keeps its last ones (where it failed).
            int first = Math.Max(0, _trail.Count - _builder.Options.PathWindow);
            if (first > 0)
            {
                _builder.Note(string.Create(CultureInfo.InvariantCulture, $"the failing path's first {first} steps are left out; its last {_trail.Count - first} are shown"));
            }

            foreach (var step in _trail.Skip(first))
            {
                int visit = step.Visit;
                if (visit < 0)
                {
                    int state = step.Snapshot is { } s ? _builder.State(s, force: true) : -1;
                    visit = _builder.AddLateVisit(step.Pc, step.Frame, step.Path, state, step.Pruned ? ExplainVisitKind.Pruned : ExplainVisitKind.Checked);
                }

                failing.Add(visit);
            }

        }

        return _builder.Finish(program.Name, "SharpBPF verifier", program.Instructions, failing, result.Error?.Pc ?? -1, result.Error?.Message,
            result.Statistics.ToLogLine(program.Limit));
    }

    private int[] Snapshot(VerifierState state)
    {
        _scratch.Clear();
        foreach (var frame in state.Frames)
        {
            int f = frame.FrameNo;
            while (_regCache.Count <= f)
            {
                _regCache.Add(new (RegisterState, bool, int)[11]);
                _slotCache.Add([]);
            }

            var regs = _regCache[f];
            for (int i = 0; i < 11; i++)
            {
                var reg = frame.Regs[i];
                if (reg.Type == RegisterType.NotInit)
                {
                    continue;
                }

                ref var cached = ref regs[i];
                if (cached.Id == 0 || cached.Reg.Type == RegisterType.NotInit || !cached.Reg.Equals(reg) || cached.Precise != reg.Precise)
                {
                    // Ids are stored plus one, so that 0 means "nothing cached".
                    cached = (reg, reg.Precise, 1 + _builder.Value(f, RegisterNames[i], VerifierFormat.Register(reg, f, _maps)));
                }

                _scratch.Add(cached.Id - 1);
            }

            var slots = _slotCache[f];
            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                ulong types = BitConverter.ToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(frame.Stack.AsSpan(spi * 8, 8)));
                if (types == 0)
                {
                    continue;
                }

                var spilled = frame.IsSpilled(spi) ? frame.Spilled[spi] : default;
                if (!slots.TryGetValue(spi, out var cached) || cached.Types != types || !cached.Reg.Equals(spilled) || cached.Precise != spilled.Precise)
                {
                    string text = VerifierFormat.StackSlot(frame, spi, _maps) ?? "";
                    cached = (types, spilled, spilled.Precise, _builder.Value(f, "fp" + ((-spi - 1) * 8).ToString(CultureInfo.InvariantCulture), text));
                    slots[spi] = cached;
                }

                _scratch.Add(cached.Id);
            }

            if (frame == state.Current && state.Refs.Count > 0)
            {
                _scratch.Add(_builder.Value(f, "refs", string.Join(",", state.Refs.Select(r => r.Id.ToString(CultureInfo.InvariantCulture)))));
            }

            if (frame.InCallback)
            {
                _scratch.Add(_builder.Value(f, "cb", ""));
            }
        }

        return [.. _scratch];
    }

    private static readonly string[] RegisterNames = [.. Enumerable.Range(0, 11).Select(i => "R" + i.ToString(CultureInfo.InvariantCulture))];
}

/// <summary>What the recorder needs of the program: its name, its instructions as the report shows them, and the processed-instruction limit.</summary>
internal sealed record BpfProgramView(string Name, IReadOnlyList<ExplainInstruction> Instructions, int Limit);
