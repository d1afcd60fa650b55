using System.Diagnostics;
using System.Globalization;
using System.Text;
using SharpBpf.Isa;

namespace SharpBpf.Verification;

/// <summary>One verification: the depth-first walk over paths with pruning (the kernel's <c>do_check</c>).</summary>
internal sealed partial class VerifierRun
{
    private const int MaxBpfStack = 512;
    private const long MaxVarOff = 1 << 29;
    private const int MaxPacketOff = 0xffff;
    private const int MaxCallFrames = 8;
    private const int BeyondPacketEnd = -2;
    private const int AtPacketEnd = -1;

    private readonly BpfProgram _program;
    private readonly Instruction[] _insns;
    private readonly VerifierOptions _options;
    private readonly IReadOnlyList<VerifierMap> _maps;
    private readonly ProgramAnalysis _analysis;
    private readonly VerifierLog _log;
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly Stack<(VerifierState State, int Pc, int PrevPc, long LogPos)> _branches = new();
    private readonly Dictionary<int, List<Checkpoint>> _explored = [];
    private readonly int[] _subprogStack;
    private readonly SubprogFunctions _functions;

    private VerifierState _cur = null!;
    private int _pc;
    private int _prevPc;
    private int _idGen;
    private int _processed;
    private int _jmpsProcessed;
    private int _prevJmpsProcessed;
    private int _prevInsnProcessed;
    private int _totalStates;
    private int _peakStates;
    private int _maxStatesPerInsn;

    // Log bookkeeping: which registers and stack slots the current instruction touched.
    private int _scratchedRegs;
    private readonly HashSet<(int Frame, int Spi)> _scratchedSlots = [];
    private bool _allScratched;
    private long _prevLogPos = -1;

    // Set by a return from a callee: the next instruction is logged as the start of a path.
    private bool _returnedFromCallee;

    // Per bpf_loop call instruction: whether it is still fit for inlining, and its callback (the kernel's loop_inline_state).
    private readonly Dictionary<int, (bool Fit, int Callback)> _loopInline = [];
    private int _prevInsnPrintLength;

    private sealed class Checkpoint(VerifierState state)
    {
        public VerifierState State { get; } = state;
        public int Hits { get; set; }
        public int Misses { get; set; }
    }

    public VerifierRun(BpfProgram program, VerifierOptions options)
    {
        _program = program;
        _insns = program.RawInstructions;
        _options = options;
        _maps = options.Maps;
        _analysis = new ProgramAnalysis(program);
        _subprogStack = new int[program.FunctionStarts.Length];
        _log = new VerifierLog(options.MaxLogLength, options.FixedLog);
        _functions = new SubprogFunctions(program, _analysis.Starts, options);
    }

    private int LogLevel => _options.LogLevel;

    private void Log(string text)
    {
        if (LogLevel > 0)
        {
            _log.Append(text);
        }
    }

    public VerifierResult Run()
    {
        VerifierError? error = null;
        try
        {
            if (LogLevel >= 2)
            {
                for (int i = 0; i < _program.FunctionStarts.Length; i++)
                {
                    Log(string.Create(CultureInfo.InvariantCulture, $"func#{i} @{_program.FunctionStarts[i]}\n"));
                }
            }

            _analysis.CheckControlFlow();
            if (LogLevel >= 2)
            {
                LogLiveRegisters();
            }
            DoCheckCommon(0);
            CheckGlobalFunctions();
            CheckStackDepth();
        }
        catch (VerifierRejection e)
        {
            error = new VerifierError(_pc, _pc >= 0 && _pc < _insns.Length ? _insns[_pc] : default, e.Message);
            foreach (var line in e.Message.Split('\n'))
            {
                Log(line + "\n");
            }
        }
        catch (ProgramAnalysis.CfgRejection e)
        {
            error = new VerifierError(e.Pc, e.Pc >= 0 && e.Pc < _insns.Length ? _insns[e.Pc] : default, e.Message);
            Log(e.Message + "\n");
        }

        var stats = new VerifierStatistics(_processed, _maxStatesPerInsn, _totalStates, _peakStates, 0);
        Log(stats.ToLogLine(_options.MaxProcessedInstructions) + "\n");
        if (error is not null)
        {
            error = error with { Message = error.Message.Split('\n')[0], Source = SourceAt(error.Pc) };
        }

        return new VerifierResult(error is null, error, _log.ToString(), stats, _watch.Elapsed, BuildFacts()) { LogTrueLength = Math.Max(0, _log.TrueSize - 1) };
    }

    /// <summary>
    /// The kernel's (6.17 and later) listing at level 2 before the walk: each instruction with its loop number, when it is
    /// in a loop, and the registers live before it (r0-r9, a dot for a dead one).
    /// </summary>
    private void LogLiveRegisters()
    {
        int[] loops = _analysis.LoopComponents();
        var line = new StringBuilder();
        Log("Live regs before insn:\n");
        for (int pc = 0; pc < _insns.Length; pc++)
        {
            line.Clear();
            line.Append(loops[pc] != 0 ? F($"{loops[pc],3} ") : "    ").Append(F($"{pc,3}: "));
            int live = _analysis.LiveIn(pc);
            for (int r = 0; r < 10; r++)
            {
                line.Append((live & (1 << r)) != 0 ? (char)('0' + r) : '.');
            }

            line.Append(' ').Append(VerifierFormat.Instruction(_insns[pc], pc + 1 < _insns.Length ? _insns[pc + 1] : null)).Append('\n');
            Log(line.ToString());
            if (_insns[pc].IsLoadImm64)
            {
                pc++;
            }
        }
    }

    private static VerifierRejection Reject(string message) => new(message);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------------------------------
    // The main loop
    // ---------------------------------------------------------------------------------------

    /// <summary>
    /// One pass of the walk (the kernel's <c>do_check_common</c>): the main program, or a global function on its own
    /// with its arguments assumed from its prototype.
    /// </summary>
    private void DoCheckCommon(int subprog)
    {
        // Each pass compares states only with its own (the kernel frees the explored states after a pass).
        _explored.Clear();
        SubprogArg[] args = [];
        if (subprog > 0)
        {
            var function = _functions[subprog];
            Log(F($"Validating {function.Name}() func#{subprog}...\n"));
            args = _functions.PrepareArgs(subprog, out string? error) ?? throw Reject(error ?? F($"Invalid type of function {function.Name}()"));
        }

        DoCheck(subprog, args);

        // As the kernel: at level 1 the log of an accepted pass is dropped (an accepted program's log is the closing line).
        if (LogLevel == 1)
        {
            _log.Reset(0);
        }
    }

    /// <summary>
    /// The global functions a verified function called, each verified once on its own, until none is left (the
    /// kernel's <c>do_check_subprogs</c>); a global function that is never called is not verified.
    /// </summary>
    private void CheckGlobalFunctions()
    {
        for (bool again = true; again;)
        {
            again = false;
            for (int i = 1; i < _functions.Count; i++)
            {
                var function = _functions[i];
                if (!_functions.IsGlobal(i) || !function.Called || function.Verified)
                {
                    continue;
                }

                DoCheckCommon(i);
                Log(F($"Func#{i} ('{function.Name}') is safe for any args that match its prototype\n"));
                function.Verified = true;
                again = true;
            }
        }
    }

    private void DoCheck(int subprog, SubprogArg[] args)
    {
        _cur = InitialState(subprog, args);
        _pc = _analysis.Starts[subprog];
        _prevPc = -1;
        _prevLogPos = -1;
        _allScratched = true;
        bool printFrom = false;
        PushHistory();
        while (true)
        {
            if (_pc < 0 || _pc >= _insns.Length)
            {
                throw Reject(F($"invalid insn idx {_pc} insn_cnt {_insns.Length}"));
            }

            if (++_processed > _options.MaxProcessedInstructions)
            {
                throw Reject(F($"BPF program is too large. Processed {_processed} insn"));
            }

            if (_options.TimeLimit is { } limit && (_processed & 1023) == 0 && _watch.Elapsed > limit)
            {
                throw Reject(F($"verification time limit of {limit.TotalMilliseconds:0.###} ms exceeded"));
            }

            _cur.InsnIdx = _pc;
            Recorder?.Visit(_cur, _pc);
            if (_analysis.IsPrunePoint(_pc))
            {
                if (IsStateVisited(printFrom))
                {
                    Recorder?.MarkPruned();
                    if (!FinishPath(out printFrom))
                    {
                        return;
                    }

                    continue;
                }
            }

            PushHistoryIfJump();
            if (LogLevel >= 2 && printFrom)
            {
                Log(F($"\nfrom {_prevPc} to {_pc}:") + FrameStateText(_cur.Current, true) + "\n");
                printFrom = false;
            }

            if (LogLevel > 0)
            {
                PrintInsnState();
                LogSourceLine(_pc);
                _prevLogPos = _log.End;
                Log(F($"{_pc}: ") + VerifierFormat.Instruction(_insns[_pc], _pc + 1 < _insns.Length ? _insns[_pc + 1] : null) + "\n");
                _prevInsnPrintLength = (int)(_log.End - _prevLogPos);
                _prevLogPos = _log.End;
            }

            int executedPc = _pc;
            _returnedFromCallee = false;
            var outcome = Step();
            printFrom |= _returnedFromCallee;
            _prevPc = executedPc;
            _curHistEntry = null;
            if (outcome == StepOutcome.PathDone)
            {
                if (!FinishPath(out printFrom))
                {
                    return;
                }
            }
        }
    }

    /// <summary>Ends the current path and resumes the most recent pending branch; false when none is left.</summary>
    private bool FinishPath(out bool printFrom)
    {
        UpdateBranchCounts(_cur.Parent);
        printFrom = false;
        if (_branches.Count == 0)
        {
            return false;
        }

        var (state, pc, prevPc, logPos) = _branches.Pop();
        Recorder?.BranchPopped(prevPc, pc);
        if (LogLevel == 1 && logPos <= _log.End)
        {
            _log.Reset(logPos);
        }

        _cur = state;
        _pc = pc;
        _prevPc = prevPc;
        _curHistEntry = null;
        _prevLogPos = -1;

        // The kernel marks the whole state for printing at an exit or a pruned path, before popping the next branch.
        _allScratched = true;
        _scratchedRegs = 0;
        _scratchedSlots.Clear();
        printFrom = true;
        return true;
    }

    private static void UpdateBranchCounts(VerifierState? st)
    {
        while (st is not null)
        {
            if (--st.Branches > 0)
            {
                break;
            }

            st = st.Parent;
        }
    }

    private void PushBranch(VerifierState state, int pc)
    {
        if (state.Parent is not null)
        {
            state.Parent.Branches++;
        }

        if (_branches.Count > 8192)
        {
            throw Reject("The sequence of 8192 jumps is too complex.");
        }

        _branches.Push((state, pc, _pc, _log.End));
        Recorder?.BranchPushed();
    }

    private VerifierState InitialState(int subprog, SubprogArg[] args)
    {
        var state = new VerifierState();
        var frame = new FrameState { FrameNo = 0, Subprog = subprog, CallSite = -1 };
        for (int i = 0; i < 11; i++)
        {
            frame.Regs[i] = default;
        }

        if (subprog == 0)
        {
            frame.Regs[1] = RegisterState.Pointer(RegisterType.Context);
        }

        for (int i = 0; i < args.Length; i++)
        {
            frame.Regs[i + 1] = ArgumentState(args[i]);
        }

        frame.Regs[10] = RegisterState.Pointer(RegisterType.Stack);
        frame.Regs[10].FrameNo = 0;
        state.Frames.Add(frame);
        return state;
    }

    private enum StepOutcome
    {
        Continue,
        PathDone,
    }

    // ---------------------------------------------------------------------------------------
    // Log helpers
    // ---------------------------------------------------------------------------------------

    private void ScratchReg(int regno) => _scratchedRegs |= 1 << regno;

    private void ScratchSlot(int frame, int spi) => _scratchedSlots.Add((frame, spi));

    private void PrintInsnState()
    {
        if (!_allScratched && _scratchedRegs == 0 && _scratchedSlots.Count == 0)
        {
            return;
        }

        string state = FrameStateText(_cur.Current, _allScratched);
        if (_prevLogPos > 0 && _prevLogPos == _log.End)
        {
            _log.Reset(_log.End - 1);
            int pos = _prevInsnPrintLength;
            int width = (Math.Max(pos + 4, 40) + 7) / 8 * 8 - pos - 1;
            Log(new string(' ', Math.Max(width, 1)) + ";");
        }
        else
        {
            Log(F($"{_pc}:"));
        }

        Log(state + "\n");
        _allScratched = false;
        _scratchedRegs = 0;
        _scratchedSlots.Clear();
    }

    /// <summary>
    /// A frame's registers and stack as the kernel's <c>print_verifier_state</c> prints them; the references are those of
    /// <paramref name="owner"/> (any frame, as the kernel prints a checkpoint), else the current state's in its current frame.
    /// </summary>
    private string FrameStateText(FrameState frame, bool all, VerifierState? owner = null)
    {
        var sb = new StringBuilder();
        if (frame.FrameNo != 0)
        {
            sb.Append(F($" frame{frame.FrameNo}:"));
        }

        for (int i = 0; i < 11; i++)
        {
            var reg = frame.Regs[i];
            if (reg.Type == RegisterType.NotInit || (!all && (_scratchedRegs & (1 << i)) == 0))
            {
                continue;
            }

            sb.Append(F($" R{i}")).Append('=').Append(VerifierFormat.Register(reg, frame.FrameNo, _maps));
        }

        for (int spi = 0; spi < frame.Spilled.Length; spi++)
        {
            if (!all && !_scratchedSlots.Contains((frame.FrameNo, spi)))
            {
                continue;
            }

            if (VerifierFormat.StackSlot(frame, spi, _maps) is { } slot)
            {
                sb.Append(F($" fp{(-spi - 1) * 8}")).Append('=').Append(slot);
            }
        }

        var refs = owner ?? (frame == _cur.Current ? _cur : null);
        if (refs is { Refs.Count: > 0 })
        {
            sb.Append(" refs=").Append(string.Join(",", refs.Refs.Select(r => r.Id.ToString(CultureInfo.InvariantCulture))));
        }

        if (frame.InCallback)
        {
            sb.Append(" cb");
        }

        return sb.ToString();
    }

    // ---------------------------------------------------------------------------------------
    // Register access
    // ---------------------------------------------------------------------------------------

    private RegisterState[] Regs => _cur.Current.Regs;

    private ref RegisterState ReadReg(int regno)
    {
        if (regno > 10)
        {
            throw Reject(F($"R{regno} is invalid"));
        }

        ScratchReg(regno);
        ref var reg = ref Regs[regno];
        if (reg.Type == RegisterType.NotInit)
        {
            throw Reject(F($"R{regno} !read_ok"));
        }

        return ref reg;
    }

    private void CheckWritable(int regno)
    {
        if (regno > 10)
        {
            throw Reject(F($"R{regno} is invalid"));
        }

        ScratchReg(regno);
        if (regno == 10)
        {
            throw Reject("frame pointer is read only");
        }
    }

    private void SetReg(int regno, RegisterState value)
    {
        value.Written = true;
        Regs[regno] = value;
        ScratchReg(regno);
    }

    private static string TypeName(in RegisterState reg) => VerifierFormat.TypeName(reg.Type, reg.Flags);

    private int NewId() => ++_idGen;

    /// <summary>Every register and spilled register of every frame of the current state.</summary>
    private IEnumerable<(FrameState Frame, int Index, bool Spilled)> AllRegisters()
    {
        foreach (var frame in _cur.Frames)
        {
            for (int i = 0; i < 11; i++)
            {
                yield return (frame, i, false);
            }

            for (int spi = 0; spi < frame.Spilled.Length; spi++)
            {
                if (frame.IsSpilled(spi))
                {
                    yield return (frame, spi, true);
                }
            }
        }
    }

    private static ref RegisterState RegAt(FrameState frame, int index, bool spilled) =>
        ref spilled ? ref frame.Spilled[index] : ref frame.Regs[index];
}
