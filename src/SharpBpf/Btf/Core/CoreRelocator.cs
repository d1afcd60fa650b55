using System.Globalization;
using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Btf.Core;

/// <summary>
/// CO-RE (compile once, run everywhere) relocation with libbpf's semantics: each <c>bpf_core_relo</c> record of an
/// object's <c>.BTF.ext</c> is resolved against a target BTF (a kernel's <c>vmlinux</c>) and the instruction it names
/// is patched, or poisoned when no candidate satisfies it.
/// </summary>
/// <remarks>
/// Candidates are the target types of a compatible kind whose essential name (before a <c>___flavour</c> suffix)
/// equals the local type's. Every candidate that matches must give the same bit offset and value, else the relocation
/// is ambiguous and fails. Candidate lists are cached per local type and pruned to the matching ones as records are
/// processed, in section and record order, exactly as libbpf does, so that later records see the same candidates.
/// </remarks>
public static class CoreRelocator
{
    /// <summary>The helper id a poisoned instruction calls: the verifier reports "invalid func unknown#195896080".</summary>
    public const int PoisonHelperId = 0xbad2310;

    /// <summary>Whether <paramref name="obj"/> has CO-RE records to apply (in its <c>.BTF.ext</c>).</summary>
    /// <exception cref="BtfFormatException">The object's <c>.BTF</c> or <c>.BTF.ext</c> is malformed.</exception>
    public static bool HasRelocations(BpfObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        if (obj.Btf is not { } btfBytes || obj.BtfExt is not { } extBytes)
        {
            return false;
        }

        var ext = BtfExt.Parse(extBytes.Span, BtfSpec.Parse(btfBytes));
        return ext.CoreRelocations.Any(section => section.Records.Length > 0);
    }

    /// <summary>
    /// Relocates every program of <paramref name="obj"/> against <paramref name="target"/>. Never throws for a
    /// relocation that cannot be applied: the report says which failed and why.
    /// </summary>
    /// <param name="obj">The object (its <c>.BTF</c> and <c>.BTF.ext</c> supply the records and local types).</param>
    /// <param name="target">The target BTF, usually a kernel's <c>/sys/kernel/btf/vmlinux</c>.</param>
    /// <param name="targetName">A name for the target in reports.</param>
    /// <exception cref="BtfFormatException">The object's <c>.BTF</c> or <c>.BTF.ext</c> is malformed.</exception>
    public static CoreResult Apply(BpfObject obj, BtfSpec target, string targetName = "vmlinux")
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(target);
        var reports = new List<CoreRelocationReport>();
        var applied = new List<(int Section, int Start, int Count, CoreRelocationReport Report)>();
        var patchedSections = new Dictionary<int, Instruction[]>();
        var functions = CollectFunctions(obj);

        if (obj.Btf is { } btfBytes && obj.BtfExt is { } extBytes)
        {
            var local = BtfSpec.Parse(btfBytes);
            var ext = BtfExt.Parse(extBytes.Span, local);
            var session = new Session(local, target);
            foreach (var section in ext.CoreRelocations)
            {
                var elfSection = obj.Elf.FindSection(section.SectionName);
                Instruction[]? code = null;
                if (elfSection is not null && elfSection.IsExecutable)
                {
                    if (!patchedSections.TryGetValue(elfSection.Index, out code))
                    {
                        code = Instruction.Decode(elfSection.Data.Span[..(elfSection.Data.Length & ~7)]);
                        patchedSections[elfSection.Index] = code;
                    }
                }
                for (int i = 0; i < section.Records.Length; i++)
                {
                    var record = section.Records[i];
                    int at = (int)(record.InstructionOffset / Instruction.Size);
                    int width = code is not null && at < code.Length && code[at].IsLoadImm64 ? 2 : 1;
                    var report = Relocate(session, section.SectionName, i, record, elfSection, code, functions);
                    reports.Add(report);
                    if (report.Outcome is CoreRelocationOutcome.Patched or CoreRelocationOutcome.Poisoned)
                    {
                        applied.Add((elfSection!.Index, at, width, report));
                    }
                }
            }
        }

        var programs = new List<CoreProgramResult>();
        foreach (var program in obj.Programs)
        {
            var insns = (Instruction[])program.Instructions.Clone();
            var mine = new List<CoreProgramRelocation>();
            // The program's own code, then each appended subprogram: (section, first instruction in the section, place in the program, length).
            var segments = new List<(int Section, int SectionStart, int At, int Count)>
            {
                (program.SectionIndex, (int)(program.SectionOffset / Instruction.Size), 0, program.OwnInstructionCount),
            };
            foreach (var sub in program.Subprograms)
            {
                var f = functions.FirstOrDefault(f => f.Name == sub.Name && f.SectionName == sub.SectionName);
                if (f is not null) segments.Add((f.Section, f.Start, sub.StartIndex, sub.InstructionCount));
            }
            foreach (var (section, start, count, report) in applied)
            {
                foreach (var s in segments)
                {
                    if (s.Section != section || start < s.SectionStart || start >= s.SectionStart + s.Count) continue;
                    int at = s.At + start - s.SectionStart;
                    var code = patchedSections[section];
                    for (int k = 0; k < count && at + k < insns.Length; k++) insns[at + k] = code[start + k];
                    mine.Add(new CoreProgramRelocation(at, report));
                }
            }
            foreach (var report in reports.Where(r => r.Outcome == CoreRelocationOutcome.Failed))
            {
                // Failed records leave the instruction alone but still belong to the program for its verdict.
                foreach (var s in segments)
                {
                    var f = functions.FirstOrDefault(f => f.Name == report.FunctionName && f.SectionName == report.SectionName);
                    if (f is null || f.Section != s.Section || f.Start + report.InstructionIndex < s.SectionStart || f.Start + report.InstructionIndex >= s.SectionStart + s.Count) continue;
                    mine.Add(new CoreProgramRelocation(s.At + f.Start + report.InstructionIndex - s.SectionStart, report));
                }
            }
            mine.Sort((a, b) => a.InstructionIndex.CompareTo(b.InstructionIndex));
            programs.Add(new CoreProgramResult(program, insns, mine));
        }
        return new CoreResult(targetName, target, reports, programs);
    }

    private sealed record FunctionRange(string Name, int Section, string SectionName, int Start, int Count);

    private static List<FunctionRange> CollectFunctions(BpfObject obj)
    {
        var elf = obj.Elf;
        var result = new List<FunctionRange>();
        foreach (var symbol in elf.Symbols)
        {
            if (symbol.Type != ElfSymbolType.Function || !symbol.IsInSection || symbol.SectionIndex >= elf.Sections.Count) continue;
            var section = elf.Sections[symbol.SectionIndex];
            if (!section.IsExecutable) continue;
            result.Add(new FunctionRange(symbol.Name, section.Index, section.Name, (int)(symbol.Value / Instruction.Size), (int)(symbol.Size / Instruction.Size)));
        }
        // Old objects without function symbols: the loader's programs still say where they are.
        foreach (var p in obj.Programs)
        {
            int start = (int)(p.SectionOffset / Instruction.Size);
            if (!result.Any(f => f.Section == p.SectionIndex && f.Start == start))
                result.Add(new FunctionRange(p.Name, p.SectionIndex, p.SectionName, start, p.OwnInstructionCount));
        }
        return result;
    }

    /// <summary>Per-target state: the candidate cache, shared by every record of the object.</summary>
    private sealed class Session(BtfSpec local, BtfSpec target)
    {
        public BtfSpec Local { get; } = local;

        public BtfSpec Target { get; } = target;

        public Dictionary<int, List<int>> Candidates { get; } = [];
    }

    private sealed class Log(string function, int index)
    {
        public List<string> Lines { get; } = [];

        public void Relo(string text) => Lines.Add($"prog '{function}': relo #{index}: {text}");

        public void Plain(string text) => Lines.Add(text);
    }

    private static CoreRelocationReport Relocate(Session session, string sectionName, int index, BtfCoreRelocation record,
        ElfSection? section, Instruction[]? code, List<FunctionRange> functions)
    {
        int sectionInsn = (int)(record.InstructionOffset / Instruction.Size);
        var function = section is null ? null : functions.FirstOrDefault(f => f.Section == section.Index && sectionInsn >= f.Start && sectionInsn < f.Start + f.Count);
        string functionName = function?.Name ?? "";
        int insnIndex = function is null ? sectionInsn : sectionInsn - function.Start;
        var log = new Log(functionName, index);
        var candidates = new List<CoreCandidate>();
        string localSpecText = "";

        CoreRelocationReport Report(CoreRelocationOutcome outcome, string? reason, CoreResolution? res = null) => new()
        {
            SectionName = sectionName,
            Index = index,
            FunctionName = functionName,
            InstructionIndex = insnIndex,
            Kind = record.Kind,
            AccessString = record.AccessString,
            LocalTypeId = record.TypeId,
            LocalSpec = localSpecText,
            Candidates = candidates,
            Outcome = outcome,
            OriginalValue = res?.OriginalValue ?? 0,
            NewValue = res?.NewValue ?? 0,
            MemorySize = res is { } r && r.OriginalSize != r.NewSize ? (r.OriginalSize, r.NewSize) : (0, 0),
            Reason = reason,
            Log = log.Lines,
        };

        if (function is null || code is null)
        {
            log.Plain($"sec '{sectionName}': skipping CO-RE relocation #{index} for insn #{sectionInsn} belonging to eliminated weak subprogram");
            return Report(CoreRelocationOutcome.Skipped, "the instruction belongs to no function of the object");
        }
        if (record.InstructionOffset % Instruction.Size != 0 || sectionInsn >= code.Length)
            return Report(CoreRelocationOutcome.Failed, $"instruction offset {record.InstructionOffset} is not an instruction of '{sectionName}'");
        if (code[sectionInsn].IsLoadImm64 && (sectionInsn + 1 >= function.Start + function.Count || sectionInsn + 1 >= code.Length))
            return Report(CoreRelocationOutcome.Failed, $"insn #{insnIndex} (LDIMM64) is truncated");

        CoreResolution resolution;
        try
        {
            resolution = Resolve(session, record, log, candidates, text => localSpecText = text);
        }
        catch (Exception e) when (e is CoreRelocationException or BtfFormatException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            log.Relo($"failed to relocate: {e.Message}");
            return Report(CoreRelocationOutcome.Failed, e.Message);
        }

        try
        {
            bool poisoned = Patch(code, sectionInsn, insnIndex, resolution, log);
            return poisoned
                ? Report(CoreRelocationOutcome.Poisoned, resolution.PoisonReason ?? "the load/store accesses the field with a size the target's field does not allow", resolution)
                : Report(CoreRelocationOutcome.Patched, null, resolution);
        }
        catch (CoreRelocationException e)
        {
            return Report(CoreRelocationOutcome.Failed, e.Message, resolution);
        }
    }

    /// <summary>The computed values of one relocation (libbpf's <c>struct bpf_core_relo_res</c>).</summary>
    private sealed class CoreResolution
    {
        public ulong OriginalValue { get; set; }

        public ulong NewValue { get; set; }

        public bool Poison { get; set; }

        public string? PoisonReason { get; set; }

        public bool Validate { get; set; } = true;

        public bool FailMemorySizeAdjust { get; set; }

        public uint OriginalSize { get; set; }

        public uint NewSize { get; set; }

        public int OriginalTypeId { get; set; }

        public int NewTypeId { get; set; }
    }

    private static CoreResolution Resolve(Session session, BtfCoreRelocation record, Log log, List<CoreCandidate> candidates, Action<string> setLocalSpec)
    {
        var local = session.Local;
        var target = session.Target;
        var localType = local.GetType(record.TypeId);
        string localName = localType.Name;
        // libbpf looks the candidates up (and logs them) before it parses the access string.
        List<int>? cands = null;
        if (record.Kind != BtfCoreRelocationKind.TypeIdLocal && !session.Candidates.TryGetValue(record.TypeId, out cands))
        {
            if (localName.Length == 0)
                throw new CoreRelocationException($"target candidate search failed for [{record.TypeId}] {CoreTypes.KindName(localType.Kind)} <anon>: <{CoreSpec.KindName(record.Kind)}> relocation doesn't support anonymous types");
            cands = FindCandidates(localType, target, log);
            session.Candidates[record.TypeId] = cands;
        }
        CoreSpec localSpec;
        try
        {
            localSpec = CoreSpec.Parse(local, record.TypeId, record.AccessString, record.Kind);
        }
        catch (Exception e) when (e is CoreRelocationException or BtfFormatException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new CoreRelocationException($"parsing [{record.TypeId}] {CoreTypes.KindName(localType.Kind)} {(localName.Length == 0 ? "<anon>" : localName)} + {record.AccessString} failed: {e.Message}");
        }
        string specText = localSpec.ToString();
        setLocalSpec(specText);
        log.Relo(specText);

        if (record.Kind == BtfCoreRelocationKind.TypeIdLocal)
            return new CoreResolution { OriginalValue = (ulong)record.TypeId, NewValue = (ulong)record.TypeId, Validate = false };
        cands ??= [];

        CoreResolution? chosen = null;
        CoreSpec? chosenSpec = null;
        var kept = new List<int>();
        for (int i = 0; i < cands.Count; i++)
        {
            var candSpec = new CoreSpec(target, cands[i], record.Kind);
            int matched = CoreSpec.Match(localSpec, candSpec);
            if (matched < 0)
                throw new CoreRelocationException($"error matching candidate #{i} {candSpec}: types nest too deeply");
            string candText = candSpec.ToString();
            candidates.Add(new CoreCandidate(cands[i], candText, matched > 0));
            log.Relo($"{(matched == 0 ? "non-matching" : "matching")} candidate #{i} {candText}");
            if (matched == 0) continue;

            var res = Calculate(record, localSpec, candSpec);
            if (chosen is null)
            {
                chosen = res;
                chosenSpec = candSpec;
            }
            else if (candSpec.BitOffset != chosenSpec!.BitOffset)
            {
                throw new CoreRelocationException($"field offset ambiguity: {candSpec.BitOffset} != {chosenSpec.BitOffset} (candidates [{chosenSpec.RootTypeId}] and [{candSpec.RootTypeId}])");
            }
            else if (res.Poison != chosen.Poison || res.NewValue != chosen.NewValue)
            {
                throw new CoreRelocationException($"relocation decision ambiguity: {(res.Poison ? "failure" : "success")} {res.NewValue} != {(chosen.Poison ? "failure" : "success")} {chosen.NewValue} (candidates [{chosenSpec.RootTypeId}] and [{candSpec.RootTypeId}])");
            }
            kept.Add(cands[i]);
        }

        if (kept.Count > 0)
        {
            cands.Clear();
            cands.AddRange(kept);
            return chosen!;
        }

        log.Relo("no matching targets found");
        var none = Calculate(record, localSpec, null);
        if (none.Poison)
        {
            none.PoisonReason = cands.Count == 0
                ? $"no type named '{CoreTypes.EssentialName(localName)}' of kind {CoreTypes.KindName(localType.Kind)} in the target"
                : $"no candidate of '{CoreTypes.EssentialName(localName)}' has {Describe(localSpec)}";
        }
        return none;
    }

    private static string Describe(CoreSpec spec)
    {
        if (CoreSpec.IsEnumValueBased(spec.Kind)) return $"the enumerator {spec.Accessors[0].Name}";
        var names = spec.Accessors.Skip(1).Select(a => a.Name is null ? $"[{a.Index}]" : "." + a.Name);
        return "the field " + string.Concat(names).TrimStart('.');
    }

    private static List<int> FindCandidates(BtfType localType, BtfSpec target, Log log)
    {
        var result = new List<int>();
        var localName = localType.NameUtf8;
        int essential = CoreTypes.EssentialNameLength(localName);
        string localKind = CoreTypes.KindName(localType.Kind);
        for (int id = 1; id < target.TypeCount; id++)
        {
            var t = target.GetType(id);
            if (!CoreTypes.KindsCompatible(t, localType)) continue;
            var name = t.NameUtf8;
            // The prefix test first: it rejects almost every type without scanning for a flavour suffix.
            if (name.IsEmpty || name.Length < essential || !name[..essential].SequenceEqual(localName[..essential])) continue;
            if (CoreTypes.EssentialNameLength(name) != essential) continue;
            log.Plain($"CO-RE relocating [{localType.Id}] {localKind} {localType.Name}: found target candidate [{id}] {CoreTypes.KindName(t.Kind)} {t.Name} in [vmlinux]");
            result.Add(id);
        }
        return result;
    }

    private static CoreResolution Calculate(BtfCoreRelocation record, CoreSpec localSpec, CoreSpec? targetSpec)
    {
        var res = new CoreResolution();
        var kind = record.Kind;
        if (CoreSpec.IsFieldBased(kind))
        {
            var local = CalculateField(record, localSpec, withValidation: true);
            var target = CalculateField(record, targetSpec, withValidation: false);
            if (local.Poison || target.Poison)
            {
                res.Poison = true;
                return res;
            }
            res.OriginalValue = local.Value;
            res.NewValue = target.Value;
            res.OriginalSize = local.FieldSize;
            res.NewSize = target.FieldSize;
            res.OriginalTypeId = local.TypeId;
            res.NewTypeId = target.TypeId;
            res.Validate = local.Validate;
            if (res.OriginalSize != res.NewSize)
            {
                var o = localSpec.Btf.GetType(res.OriginalTypeId);
                var n = targetSpec!.Btf.GetType(res.NewTypeId);
                bool pointers = o.Kind == BtfKind.Pointer && n.Kind == BtfKind.Pointer;
                bool unsignedInts = o.Kind == BtfKind.Int && n.Kind == BtfKind.Int && o.IntEncoding != BtfIntEncoding.Signed && n.IntEncoding != BtfIntEncoding.Signed;
                res.FailMemorySizeAdjust = !pointers && !unsignedInts;
            }
        }
        else if (CoreSpec.IsTypeBased(kind))
        {
            res.OriginalValue = TypeValue(kind, localSpec);
            res.NewValue = TypeValue(kind, targetSpec);
            res.Validate = kind != BtfCoreRelocationKind.TypeIdTarget;
        }
        else if (CoreSpec.IsEnumValueBased(kind))
        {
            if (kind == BtfCoreRelocationKind.EnumValueExists)
            {
                res.OriginalValue = 1;
                res.NewValue = targetSpec is null ? 0u : 1u;
            }
            else if (targetSpec is null)
            {
                res.Poison = true;
            }
            else
            {
                res.OriginalValue = EnumValue(localSpec);
                res.NewValue = EnumValue(targetSpec);
            }
        }
        else
        {
            throw new CoreRelocationException($"unrecognized CO-RE relocation {CoreSpec.KindName(kind)} ({(int)kind})");
        }
        return res;
    }

    private static ulong EnumValue(CoreSpec spec)
    {
        var a = spec.Accessors[0];
        var t = spec.Btf.GetType(a.TypeId);
        var e = t.GetEnumValue(a.Index);
        // A 32-bit enum's value is stored as u32 in the result, whatever its signedness.
        return t.Kind == BtfKind.Enum ? (uint)e.RawValue : e.RawValue;
    }

    private static ulong TypeValue(BtfCoreRelocationKind kind, CoreSpec? spec)
    {
        if (spec is null) return 0;
        return kind switch
        {
            BtfCoreRelocationKind.TypeIdTarget => (ulong)spec.RootTypeId,
            BtfCoreRelocationKind.TypeExists or BtfCoreRelocationKind.TypeMatches => 1,
            BtfCoreRelocationKind.TypeSize => (ulong)CoreSpec.SizeOf(spec.Btf, spec.RootTypeId),
            _ => throw new CoreRelocationException($"unrecognized CO-RE relocation {CoreSpec.KindName(kind)} ({(int)kind})"),
        };
    }

    private readonly record struct FieldValue(ulong Value, uint FieldSize, int TypeId, bool Validate, bool Poison);

    private static FieldValue CalculateField(BtfCoreRelocation record, CoreSpec? spec, bool withValidation)
    {
        var kind = record.Kind;
        if (kind == BtfCoreRelocationKind.FieldExists) return new FieldValue(spec is null ? 0u : 1u, 0, 0, true, false);
        if (spec is null) return new FieldValue(0, 0, 0, true, true);
        var btf = spec.Btf;
        var acc = spec.Accessors[^1];
        if (acc.Name is null)
        {
            // An array element a[n].
            switch (kind)
            {
                case BtfCoreRelocationKind.FieldByteOffset:
                {
                    int elem = ElementType(btf, acc.TypeId);
                    return new FieldValue((ulong)(spec.BitOffset / 8), (uint)CoreSpec.SizeOf(btf, elem), acc.TypeId, true, false);
                }
                case BtfCoreRelocationKind.FieldByteSize:
                    return new FieldValue((ulong)CoreSpec.SizeOf(btf, acc.TypeId), 0, 0, true, false);
                default:
                    throw new CoreRelocationException($"relo {(int)kind} at insn #{record.InstructionOffset / 8} can't be applied to array access");
            }
        }

        var holder = btf.GetType(acc.TypeId);
        var member = holder.GetMember(acc.Index);
        var mt = CoreTypes.SkipModifiersAndTypedefs(btf, member.TypeId);
        long bitOffset = spec.BitOffset;
        long bitSize = member.BitfieldSize;
        bool bitfield = bitSize > 0;
        long byteSize, byteOffset;
        if (bitfield)
        {
            byteSize = mt.Size;
            if (byteSize == 0) throw new CoreRelocationException($"bitfield '{acc.Name}' has a type of size 0");
            byteOffset = bitOffset / 8 / byteSize * byteSize;
            while (bitOffset + bitSize - (byteOffset * 8) > byteSize * 8)
            {
                if (byteSize >= 8) throw new CoreRelocationException($"relo {(int)kind} at insn #{record.InstructionOffset / 8} can't be satisfied for bitfield");
                byteSize *= 2;
                byteOffset = bitOffset / 8 / byteSize * byteSize;
            }
        }
        else
        {
            byteSize = CoreSpec.SizeOf(btf, mt.Id);
            byteOffset = bitOffset / 8;
            bitSize = byteSize * 8;
        }
        bool validate = !bitfield;
        switch (kind)
        {
            case BtfCoreRelocationKind.FieldByteOffset:
                if (!bitfield)
                {
                    int elem = ElementType(btf, mt.Id);
                    return new FieldValue((ulong)byteOffset, (uint)CoreSpec.SizeOf(btf, elem), mt.Id, validate, false);
                }
                return new FieldValue((ulong)byteOffset, 0, 0, validate, false);
            case BtfCoreRelocationKind.FieldByteSize:
                return new FieldValue((ulong)byteSize, 0, 0, validate, false);
            case BtfCoreRelocationKind.FieldSigned:
            {
                bool signed = (CoreTypes.IsAnyEnum(mt.Kind) && mt.KindFlag) || (mt.Kind == BtfKind.Int && (mt.IntEncoding & BtfIntEncoding.Signed) != 0);
                return new FieldValue(signed ? 1u : 0u, 0, 0, true, false);
            }
            case BtfCoreRelocationKind.FieldLShiftU64:
                return new FieldValue((ulong)(64 - (bitOffset + bitSize - (byteOffset * 8))), 0, 0, validate, false);
            case BtfCoreRelocationKind.FieldRShiftU64:
                return new FieldValue((ulong)(64 - bitSize), 0, 0, true, false);
            default:
                throw new CoreRelocationException($"unrecognized CO-RE relocation {CoreSpec.KindName(kind)} ({(int)kind})");
        }
    }

    /// <summary>The element type of (nested) arrays, or the type itself: what a load or store moves.</summary>
    private static int ElementType(BtfSpec btf, int id)
    {
        var t = CoreTypes.SkipModifiersAndTypedefs(btf, id);
        for (int i = 0; i < 64 && t.Kind == BtfKind.Array; i++) t = CoreTypes.SkipModifiersAndTypedefs(btf, t.Array.ElementTypeId);
        return t.Id;
    }

    /// <summary>Patches (or poisons) the instruction; returns true when it was poisoned.</summary>
    /// <exception cref="CoreRelocationException">The instruction cannot carry this relocation (libbpf fails the load).</exception>
    private static bool Patch(Instruction[] code, int at, int insnIndex, CoreResolution res, Log log)
    {
        var insn = code[at];
        ulong orig = res.OriginalValue, value = res.NewValue;
        string ToText(ulong v) => v.ToString(CultureInfo.InvariantCulture);
        switch (insn.Class)
        {
            case InstructionClass.Alu or InstructionClass.Alu64:
            {
                if (insn.Source != OperandSource.Immediate) goto default;
                if (res.Poison) return Poison(code, at, insnIndex, log);
                ulong imm = (ulong)(long)insn.Immediate;
                if (res.Validate && imm != orig)
                    throw new CoreRelocationException($"unexpected insn #{insnIndex} (ALU/ALU64) value: got {insn.Immediate}, exp {orig} -> {value}");
                code[at] = insn.WithImmediate((int)value);
                log.Relo($"patched insn #{insnIndex} (ALU/ALU64) imm {ToText(imm)} -> {ToText(value)}");
                return false;
            }
            case InstructionClass.Ldx or InstructionClass.St or InstructionClass.Stx:
            {
                if (res.Poison) return Poison(code, at, insnIndex, log);
                ulong off = (ulong)(long)insn.Offset;
                if (res.Validate && off != orig)
                    throw new CoreRelocationException($"unexpected insn #{insnIndex} (LDX/ST/STX) value: got {insn.Offset}, exp {orig} -> {value}");
                if (value > (ulong)short.MaxValue)
                    throw new CoreRelocationException($"insn #{insnIndex} (LDX/ST/STX) value too big: {value}");
                if (res.FailMemorySizeAdjust)
                {
                    log.Relo($"insn #{insnIndex} (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing pointers, unsigned integers, or fields of matching type and size.");
                    res.PoisonReason = $"insn #{insnIndex} (LDX/ST/STX) accesses the field with {res.OriginalSize} bytes but it has {res.NewSize} in the target and is neither a pointer nor an unsigned integer";
                    return Poison(code, at, insnIndex, log);
                }
                insn = insn.WithOffset((short)value);
                log.Relo($"patched insn #{insnIndex} (LDX/ST/STX) off {ToText(off)} -> {ToText(value)}");
                if (res.NewSize != res.OriginalSize)
                {
                    int bytes = Instruction.BytesOf(insn.MemorySize);
                    if (bytes != res.OriginalSize)
                        throw new CoreRelocationException($"insn #{insnIndex} (LDX/ST/STX) unexpected mem size: got {bytes}, exp {res.OriginalSize}");
                    MemorySize size = res.NewSize switch
                    {
                        8 => MemorySize.DoubleWord,
                        4 => MemorySize.Word,
                        2 => MemorySize.Half,
                        1 => MemorySize.Byte,
                        _ => throw new CoreRelocationException($"insn #{insnIndex} (LDX/ST/STX) invalid new mem size: {res.NewSize}"),
                    };
                    insn = new Instruction((byte)((insn.Opcode & 0xe7) | (byte)size), insn.Dst, insn.Src, insn.Offset, insn.Immediate);
                    log.Relo($"patched insn #{insnIndex} (LDX/ST/STX) mem_sz {res.OriginalSize} -> {res.NewSize}");
                }
                code[at] = insn;
                return false;
            }
            case InstructionClass.Ld:
            {
                var next = at + 1 < code.Length ? code[at + 1] : default;
                if (!insn.IsLoadImm64 || insn.Src != 0 || insn.Offset != 0 || next.Opcode != 0 || next.Dst != 0 || next.Src != 0 || next.Offset != 0)
                    throw new CoreRelocationException($"insn #{insnIndex} (LDIMM64) has unexpected form");
                if (res.Poison) return Poison(code, at, insnIndex, log);
                ulong imm = (uint)insn.Immediate | ((ulong)(uint)next.Immediate << 32);
                if (res.Validate && imm != orig)
                    throw new CoreRelocationException($"unexpected insn #{insnIndex} (LDIMM64) value: got {imm}, exp {orig} -> {value}");
                code[at] = insn.WithImmediate((int)value);
                code[at + 1] = next.WithImmediate((int)(value >> 32));
                log.Relo($"patched insn #{insnIndex} (LDIMM64) imm64 {ToText(imm)} -> {ToText(value)}");
                return false;
            }
            default:
                throw new CoreRelocationException($"trying to relocate unrecognized insn #{insnIndex}, code:0x{insn.Opcode:x}, src:0x{insn.Src:x}, dst:0x{insn.Dst:x}, off:0x{(ushort)insn.Offset:x}, imm:0x{(uint)insn.Immediate:x}");
        }
    }

    private static bool Poison(Instruction[] code, int at, int insnIndex, Log log)
    {
        int count = code[at].IsLoadImm64 ? 2 : 1;
        for (int i = 0; i < count; i++)
        {
            log.Relo($"substituting insn #{insnIndex + i} w/ invalid insn");
            code[at + i] = new Instruction(Opcode.Call, 0, 0, 0, PoisonHelperId);
        }
        return true;
    }
}
