using System.Globalization;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>Options for <see cref="BtfCDumper"/>.</summary>
public sealed class BtfCDumpOptions
{
    /// <summary>The include guard (bpftool's is <c>__VMLINUX_H__</c>); null for none.</summary>
    public string? IncludeGuard { get; init; } = "__VMLINUX_H__";

    /// <summary>
    /// Whether to wrap the types in <c>#pragma clang attribute push (__attribute__((preserve_access_index)), ...)</c>
    /// guarded by <c>BPF_NO_PRESERVE_ACCESS_INDEX</c>, as bpftool does, so every struct access becomes a CO-RE relocation.
    /// </summary>
    public bool PreserveAccessIndex { get; init; } = true;
}

/// <summary>
/// Writes BTF as C declarations the way libbpf's <c>btf_dump</c> (and so <c>bpftool btf dump ... format c</c>) does:
/// types in dependency order, a forward declaration where a pointer loop needs one, anonymous structs, unions and
/// enums inline, bitfields and explicit padding, <c>__attribute__((packed))</c> when the layout requires it,
/// duplicate names renamed <c>name___2</c>, and typedefs placed after what they name.
/// </summary>
/// <remarks>
/// Emission order: each type is first "ordered" (its strong dependencies, which must be complete before it, are
/// ordered recursively; a named struct reached through a pointer is a weak dependency that a forward declaration
/// satisfies), then the queue of named types is emitted. The input should be validated: a reference loop is
/// reported as <see cref="BtfFormatException"/> rather than followed.
/// </remarks>
public sealed class BtfCDumper
{
    private const int MaxDepth = 2048;
    private const long HugeGapBits = 64L * 1024 * 8;
    private static readonly string Tabs = new('\t', 13);

    private readonly BtfSpec _btf;
    private readonly TextWriter _out;
    private readonly byte[] _orderState;
    private readonly byte[] _emitState;
    private readonly bool[] _fwdEmitted;
    private readonly bool[] _referenced;
    private readonly bool[] _nameResolved;
    private readonly string?[] _cachedNames;
    private readonly Dictionary<string, int> _typeNames = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _identNames = new(StringComparer.Ordinal);
    private readonly List<int> _emitQueue = [];
    private readonly List<int> _declStack = [];
    private readonly int _pointerSize;
    private int _depth;

    private BtfCDumper(BtfSpec btf, TextWriter output)
    {
        _btf = btf;
        _out = output;
        int n = btf.TypeCount;
        _orderState = new byte[n];
        _emitState = new byte[n];
        _fwdEmitted = new bool[n];
        _referenced = new bool[n];
        _nameResolved = new bool[n];
        _cachedNames = new string?[n];
        _pointerSize = btf.PointerSize;
        MarkReferenced();
    }

    /// <summary>Returns the whole BTF as a C header.</summary>
    /// <exception cref="BtfFormatException">The BTF has a reference loop or an id out of range.</exception>
    public static string Dump(BtfSpec btf, BtfCDumpOptions? options = null)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        Dump(btf, writer, options);
        return writer.ToString();
    }

    /// <summary>Writes the whole BTF as a C header.</summary>
    /// <exception cref="BtfFormatException">The BTF has a reference loop or an id out of range.</exception>
    public static void Dump(BtfSpec btf, TextWriter output, BtfCDumpOptions? options = null)
    {
        options ??= new BtfCDumpOptions();
        if (options.IncludeGuard is { } guard) output.Write($"#ifndef {guard}\n#define {guard}\n\n");
        if (options.PreserveAccessIndex)
            output.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n");
        var dumper = new BtfCDumper(btf, output);
        for (int id = 1; id < btf.TypeCount; id++) dumper.DumpType(id);
        if (options.PreserveAccessIndex)
            output.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
        if (options.IncludeGuard is { } guard2) output.Write($"#endif /* {guard2} */\n");
    }

    /// <summary>
    /// Writes the C declaration of type <paramref name="id"/> with the given identifier, e.g. <c>int (*fn)(void *)</c>,
    /// without emitting any type definition it depends on (anonymous types are written inline).
    /// </summary>
    public static string FormatDeclaration(BtfSpec btf, int id, string name)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var dumper = new BtfCDumper(btf, writer);
        dumper.EmitTypeDecl(id, name, 0);
        return writer.ToString();
    }

    private void DumpType(int id)
    {
        _emitQueue.Clear();
        Order(id, false);
        foreach (int q in _emitQueue) Emit(q, 0);
    }

    private void MarkReferenced()
    {
        for (int id = 1; id < _btf.TypeCount; id++)
        {
            var t = _btf.GetType(id);
            switch (t.Kind)
            {
                case BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.Pointer or BtfKind.Typedef
                    or BtfKind.Function or BtfKind.Variable or BtfKind.DeclTag or BtfKind.TypeTag:
                    Mark(t.ReferencedTypeId);
                    break;
                case BtfKind.Array:
                    Mark(t.Array.IndexTypeId);
                    Mark(t.Array.ElementTypeId);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    for (int i = 0; i < t.Vlen; i++) Mark(t.GetMember(i).TypeId);
                    break;
                case BtfKind.FunctionProto:
                    for (int i = 0; i < t.Vlen; i++) Mark(t.GetParameter(i).TypeId);
                    break;
                case BtfKind.DataSection:
                    for (int i = 0; i < t.Vlen; i++) Mark(t.GetVariable(i).TypeId);
                    break;
                default:
                    break;
            }
        }
    }

    private void Mark(int id)
    {
        if ((uint)id < (uint)_referenced.Length) _referenced[id] = true;
    }

    private void Enter(int id)
    {
        if (++_depth > MaxDepth)
            throw new BtfFormatException("type references nest too deeply, or loop through pointers and arrays or prototypes in a way C cannot declare", id);
    }

    private BtfType Type(int id) => _btf.GetType(id);

    private const byte Ordering = 1, Ordered = 2;
    private const byte Emitting = 1, Emitted = 2;

    /// <summary>Orders <paramref name="id"/>; returns whether it is a strong dependency (needs a full definition).</summary>
    private bool Order(int id, bool throughPointer)
    {
        Enter(id);
        try
        {
            if (_orderState[id] == Ordered) return true;
            var t = Type(id);
            if (_orderState[id] == Ordering)
            {
                if (t.IsComposite && throughPointer && t.NameOffset != 0) return false;
                throw new BtfFormatException("unsatisfiable type cycle", id);
            }
            switch (t.Kind)
            {
                case BtfKind.Void:
                    return false;
                case BtfKind.Int or BtfKind.Float:
                    _orderState[id] = Ordered;
                    return false;
                case BtfKind.Pointer:
                {
                    bool r = Order(t.ReferencedTypeId, true);
                    _orderState[id] = Ordered;
                    return r;
                }
                case BtfKind.Array:
                    return Order(t.Array.ElementTypeId, false);
                case BtfKind.Struct or BtfKind.Union:
                    if (throughPointer && t.NameOffset != 0) return false;
                    _orderState[id] = Ordering;
                    for (int i = 0; i < t.Vlen; i++) Order(t.GetMember(i).TypeId, false);
                    if (t.NameOffset != 0) _emitQueue.Add(id);
                    _orderState[id] = Ordered;
                    return true;
                case BtfKind.Enum or BtfKind.Enum64 or BtfKind.Forward:
                    if (t.NameOffset != 0 || !_referenced[id]) _emitQueue.Add(id);
                    _orderState[id] = Ordered;
                    return true;
                case BtfKind.Typedef:
                {
                    bool strong = Order(t.ReferencedTypeId, throughPointer);
                    if (throughPointer && !strong) return false;
                    _emitQueue.Add(id);
                    _orderState[id] = Ordered;
                    return true;
                }
                case BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                    return Order(t.ReferencedTypeId, throughPointer);
                case BtfKind.FunctionProto:
                {
                    bool strong = Order(t.ReferencedTypeId, throughPointer);
                    for (int i = 0; i < t.Vlen; i++)
                    {
                        if (Order(t.GetParameter(i).TypeId, throughPointer)) strong = true;
                    }
                    return strong;
                }
                default:
                    _orderState[id] = Ordered;
                    return false;
            }
        }
        finally
        {
            _depth--;
        }
    }

    private bool IsBlacklisted(int id)
    {
        var t = Type(id);
        return t.NameOffset != 0 && t.NameUtf8.SequenceEqual("__builtin_va_list"u8);
    }

    private void Emit(int id, int containerId)
    {
        if (_emitState[id] == Emitted) return;
        Enter(id);
        try
        {
            EmitCore(id, containerId);
        }
        finally
        {
            _depth--;
        }
    }

    private void EmitCore(int id, int containerId)
    {
        var t = Type(id);
        bool topLevel = containerId == 0;
        if (_emitState[id] == Emitting)
        {
            if (_fwdEmitted[id]) return;
            switch (t.Kind)
            {
                case BtfKind.Struct or BtfKind.Union:
                    if (id == containerId) return;
                    if (t.NameOffset == 0) return; // an anonymous struct loop cannot be declared in C
                    EmitStructForward(id, t);
                    _out.Write(";\n\n");
                    _fwdEmitted[id] = true;
                    break;
                case BtfKind.Typedef:
                    if (!IsBlacklisted(id))
                    {
                        EmitTypedefDef(id, t, 0);
                        _out.Write(";\n\n");
                    }
                    _fwdEmitted[id] = true;
                    break;
                default:
                    break;
            }
            return;
        }

        switch (t.Kind)
        {
            case BtfKind.Int:
                EmitMissingAlias(id);
                _emitState[id] = Emitted;
                break;
            case BtfKind.Enum or BtfKind.Enum64:
                if (topLevel)
                {
                    EmitEnumDef(id, t, 0);
                    _out.Write(";\n\n");
                }
                _emitState[id] = Emitted;
                break;
            case BtfKind.Pointer or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                Emit(t.ReferencedTypeId, containerId);
                break;
            case BtfKind.Array:
                Emit(t.Array.ElementTypeId, containerId);
                break;
            case BtfKind.Forward:
                EmitForwardDef(id, t);
                _out.Write(";\n\n");
                _emitState[id] = Emitted;
                break;
            case BtfKind.Typedef:
                _emitState[id] = Emitting;
                Emit(t.ReferencedTypeId, id);
                if (!_fwdEmitted[id] && !IsBlacklisted(id))
                {
                    EmitTypedefDef(id, t, 0);
                    _out.Write(";\n\n");
                }
                _emitState[id] = Emitted;
                break;
            case BtfKind.Struct or BtfKind.Union:
                _emitState[id] = Emitting;
                if (topLevel || t.NameOffset == 0)
                {
                    int newContainer = t.NameOffset == 0 ? containerId : id;
                    for (int i = 0; i < t.Vlen; i++) Emit(t.GetMember(i).TypeId, newContainer);
                }
                else if (!_fwdEmitted[id] && id != containerId)
                {
                    EmitStructForward(id, t);
                    _out.Write(";\n\n");
                    _fwdEmitted[id] = true;
                }
                if (topLevel)
                {
                    EmitStructDef(id, t, 0);
                    _out.Write(";\n\n");
                    _emitState[id] = Emitted;
                }
                else
                {
                    _emitState[id] = 0;
                }
                break;
            case BtfKind.FunctionProto:
                Emit(t.ReferencedTypeId, containerId);
                for (int i = 0; i < t.Vlen; i++) Emit(t.GetParameter(i).TypeId, containerId);
                break;
            default:
                break;
        }
    }

    private static string Indent(int level) => Tabs[..Math.Min(level, Tabs.Length)];

    private void EmitMissingAlias(int id)
    {
        string name = TypeName(id);
        string? alias = name switch
        {
            "__Poly8_t" => "unsigned char",
            "__Poly16_t" => "unsigned short",
            "__Poly64_t" => "unsigned long long",
            "__Poly128_t" => "unsigned __int128",
            _ => null,
        };
        if (alias is not null) _out.Write($"typedef {alias} {name};\n\n");
    }

    private void EmitStructForward(int id, BtfType t) =>
        _out.Write($"{(t.Kind == BtfKind.Struct ? "struct" : "union")}{(t.NameOffset != 0 ? " " : "")}{TypeName(id)}");

    private void EmitForwardDef(int id, BtfType t) => _out.Write($"{(t.KindFlag ? "union" : "struct")} {TypeName(id)}");

    private void EmitTypedefDef(int id, BtfType t, int level)
    {
        string name = IdentName(id);
        if (t.ReferencedTypeId == 0 && name == "__gnuc_va_list")
        {
            _out.Write("typedef __builtin_va_list __gnuc_va_list");
            return;
        }
        _out.Write("typedef ");
        EmitTypeDecl(t.ReferencedTypeId, name, level);
    }

    private void EmitStructDef(int id, BtfType t, int level)
    {
        bool isStruct = t.Kind == BtfKind.Struct;
        int align = _btf.GetAlignment(id);
        bool packed = isStruct && _btf.IsPacked(id);
        _out.Write($"{(isStruct ? "struct" : "union")}{(t.NameOffset != 0 ? " " : "")}{TypeName(id)} {{");
        long offset = 0;
        bool previousBitfield = false;
        int vlen = t.Vlen;
        for (int i = 0; i < vlen; i++)
        {
            var m = t.GetMember(i);
            long bits = m.BitfieldSize;
            long memberOffset = m.BitOffset;
            int memberAlign = packed ? 1 : _btf.GetAlignment(m.TypeId);
            bool inBitfield = previousBitfield && bits != 0;
            EmitBitPadding(offset, memberOffset, memberAlign, inBitfield, level + 1);
            _out.Write('\n');
            _out.Write(Indent(level + 1));
            EmitTypeDecl(m.TypeId, m.Name, level + 1);
            if (bits != 0)
            {
                _out.Write($": {bits}");
                offset = memberOffset + bits;
                previousBitfield = true;
            }
            else
            {
                offset = memberOffset + (Math.Max(0, SafeSize(m.TypeId)) * 8);
                previousBitfield = false;
            }
            _out.Write(';');
        }
        if (isStruct) EmitBitPadding(offset, (long)t.Size * 8, align, false, level + 1);
        if (vlen != 0 || t.Size != 0)
        {
            _out.Write('\n');
            _out.Write(Indent(level));
        }
        _out.Write('}');
        if (packed) _out.Write(" __attribute__((packed))");
    }

    private long SafeSize(int id)
    {
        try
        {
            return _btf.GetSize(id);
        }
        catch (BtfFormatException)
        {
            return 0;
        }
    }

    private static long RoundUp(long value, long to) => to == 0 ? value : (value + to - 1) / to * to;

    /// <summary>
    /// Writes unnamed bitfields that fill the gap between two members when natural alignment would not produce it,
    /// so the C layout matches the BTF offsets.
    /// </summary>
    private void EmitBitPadding(long current, long next, int nextAlign, bool inBitfield, int level)
    {
        if (current >= next) return;
        (string Name, int Bits)[] pads = [("long", _pointerSize * 8), ("int", 32), ("short", 16), ("char", 8)];
        long newOffset = 0;
        int padBits = 0;
        string padType = "";
        foreach (var (name, b) in pads)
        {
            padBits = b;
            padType = name;
            newOffset = RoundUp(current, padBits);
            if (newOffset <= next) break;
        }
        if (newOffset > current && newOffset <= next)
        {
            if (inBitfield
                || (newOffset == next && RoundUp(current, nextAlign * 8L) != newOffset)
                || (newOffset != next && next - newOffset <= newOffset - current))
            {
                _out.Write($"\n{Indent(level)}{padType}: {(inBitfield ? newOffset - current : 0)};");
            }
            current = newOffset;
        }
        while (current != next)
        {
            if (next - current > HugeGapBits && current % 8 == 0)
            {
                // A gap of many kilobytes would take thousands of "long: 64;" lines; one char array keeps the
                // layout and keeps the output bounded whatever the input claims.
                long bytes = (next - current) / 8;
                _out.Write($"\n{Indent(level)}char __pad_{current / 8}[{bytes}];");
                current += bytes * 8;
                continue;
            }
            long bits = Math.Min(next - current, padBits);
            if (bits == padBits)
            {
                _out.Write($"\n{Indent(level)}{padType}: {padBits};");
                current += bits;
                continue;
            }
            for (int i = pads.Length - 1; i >= 0; i--)
            {
                padType = pads[i].Name;
                padBits = pads[i].Bits;
                if (padBits < bits) continue;
                _out.Write($"\n{Indent(level)}{padType}: {bits};");
                current += bits;
                break;
            }
        }
    }

    private void EmitEnumDef(int id, BtfType t, int level)
    {
        int vlen = t.Vlen;
        _out.Write($"enum{(t.NameOffset != 0 ? " " : "")}{TypeName(id)}");
        if (vlen == 0) return;
        _out.Write(" {");
        bool signed = t.KindFlag;
        bool is64 = t.Kind == BtfKind.Enum64;
        bool allHighZero = true;
        for (int i = 0; i < vlen; i++)
        {
            var v = t.GetEnumValue(i);
            int dups = NameDups(_identNames, v.Name);
            string name = dups > 1 ? $"{v.Name}___{dups}" : v.Name;
            string value;
            if (is64)
            {
                if ((v.RawValue >> 32) != 0) allHighZero = false;
                value = signed ? $"{(long)v.RawValue}LL" : $"{v.RawValue}ULL";
            }
            else
            {
                value = signed ? ((int)(uint)v.RawValue).ToString(CultureInfo.InvariantCulture) : ((uint)v.RawValue).ToString(CultureInfo.InvariantCulture);
            }
            _out.Write($"\n{Indent(level + 1)}{name} = {value},");
        }
        _out.Write($"\n{Indent(level)}}}");
        if (t.Size == 1) _out.Write(" __attribute__((mode(byte)))");
        else if (t.Size == 8 && _pointerSize == 8 && (!is64 || allHighZero)) _out.Write(" __attribute__((mode(word)))");
    }

    private static int NameDups(Dictionary<string, int> map, string name)
    {
        map.TryGetValue(name, out int count);
        map[name] = ++count;
        return count;
    }

    private string ResolveName(int id, Dictionary<string, int> map)
    {
        var t = Type(id);
        if (t.NameOffset == 0) return "";
        string original = t.Name;
        if (_nameResolved[id]) return _cachedNames[id] ?? original;
        _nameResolved[id] = true;
        if (t.Kind == BtfKind.Forward || (t.Kind == BtfKind.Enum && t.Vlen == 0)) return original;
        int dups = NameDups(map, original);
        if (dups > 1) _cachedNames[id] = $"{original}___{dups}";
        return _cachedNames[id] ?? original;
    }

    private string TypeName(int id) => ResolveName(id, _typeNames);

    private string IdentName(int id) => ResolveName(id, _identNames);

    private sealed class DeclView(int start, int count)
    {
        public int Start { get; } = start;

        public int Count { get; set; } = count;
    }

    private void EmitTypeDecl(int id, string fieldName, int level)
    {
        Enter(id);
        int stackStart = _declStack.Count;
        try
        {
            for (int steps = 0; ; steps++)
            {
                if (steps > MaxDepth) throw new BtfFormatException("declaration chain too long (a reference loop?)", id);
                _declStack.Add(id);
                if (id == 0) break;
                var t = Type(id);
                bool more = true;
                switch (t.Kind)
                {
                    case BtfKind.Pointer or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.FunctionProto or BtfKind.TypeTag:
                        id = t.ReferencedTypeId;
                        break;
                    case BtfKind.Array:
                        id = t.Array.ElementTypeId;
                        break;
                    default:
                        more = false;
                        break;
                }
                if (!more) break;
            }
            EmitTypeChain(new DeclView(stackStart, _declStack.Count - stackStart), fieldName, level);
        }
        finally
        {
            _declStack.RemoveRange(stackStart, _declStack.Count - stackStart);
            _depth--;
        }
    }

    private int Top(DeclView view) => _declStack[view.Start + view.Count - 1];

    private void EmitModifiers(DeclView view)
    {
        while (view.Count > 0)
        {
            int id = Top(view);
            switch (Type(id).Kind)
            {
                case BtfKind.Volatile: _out.Write("volatile "); break;
                case BtfKind.Const: _out.Write("const "); break;
                case BtfKind.Restrict: _out.Write("restrict "); break;
                default: return;
            }
            view.Count--;
        }
    }

    private void DropModifiers(DeclView view)
    {
        while (view.Count > 0 && Type(Top(view)).IsModifier) view.Count--;
    }

    private void EmitName(string name, bool lastWasPointer)
    {
        if (name.Length > 0 && !lastWasPointer) _out.Write(' ');
        _out.Write(name);
    }

    private void EmitTypeChain(DeclView view, string fieldName, int level)
    {
        bool lastWasPointer = true;
        while (view.Count > 0)
        {
            int id = _declStack[view.Start + --view.Count];
            if (id == 0)
            {
                EmitModifiers(view);
                _out.Write("void");
                lastWasPointer = false;
                continue;
            }
            var t = Type(id);
            var kind = t.Kind;
            switch (kind)
            {
                case BtfKind.Int or BtfKind.Float:
                    EmitModifiers(view);
                    _out.Write(t.Name);
                    break;
                case BtfKind.Struct or BtfKind.Union:
                    EmitModifiers(view);
                    if (t.NameOffset == 0) EmitStructDef(id, t, level);
                    else EmitStructForward(id, t);
                    break;
                case BtfKind.Enum or BtfKind.Enum64:
                    EmitModifiers(view);
                    if (t.NameOffset == 0) EmitEnumDef(id, t, level);
                    else _out.Write($"enum {TypeName(id)}");
                    break;
                case BtfKind.Forward:
                    EmitModifiers(view);
                    EmitForwardDef(id, t);
                    break;
                case BtfKind.Typedef:
                    EmitModifiers(view);
                    _out.Write(IdentName(id));
                    break;
                case BtfKind.Pointer:
                    _out.Write(lastWasPointer ? "*" : " *");
                    break;
                case BtfKind.Volatile:
                    _out.Write(" volatile");
                    break;
                case BtfKind.Const:
                    _out.Write(" const");
                    break;
                case BtfKind.Restrict:
                    _out.Write(" restrict");
                    break;
                case BtfKind.TypeTag:
                    EmitModifiers(view);
                    _out.Write($" __attribute__((btf_type_tag(\"{t.Name}\")))");
                    break;
                case BtfKind.Array:
                {
                    var a = t.Array;
                    DropModifiers(view);
                    if (view.Count == 0)
                    {
                        EmitName(fieldName, lastWasPointer);
                        _out.Write($"[{a.Count}]");
                        return;
                    }
                    bool multiDimensional = Type(Top(view)).Kind == BtfKind.Array;
                    if (fieldName.Length > 0 && !lastWasPointer) _out.Write(' ');
                    if (!multiDimensional) _out.Write('(');
                    EmitTypeChain(view, fieldName, level);
                    if (!multiDimensional) _out.Write(')');
                    _out.Write($"[{a.Count}]");
                    return;
                }
                case BtfKind.FunctionProto:
                {
                    DropModifiers(view);
                    if (view.Count > 0)
                    {
                        _out.Write(" (");
                        EmitTypeChain(view, fieldName, level);
                        _out.Write(')');
                    }
                    else
                    {
                        EmitName(fieldName, lastWasPointer);
                    }
                    _out.Write('(');
                    int vlen = t.Vlen;
                    if (vlen == 0 || (vlen == 1 && t.GetParameter(0).TypeId == 0))
                    {
                        _out.Write("void)");
                        return;
                    }
                    for (int i = 0; i < vlen; i++)
                    {
                        var p = t.GetParameter(i);
                        if (i > 0) _out.Write(", ");
                        if (i == vlen - 1 && p.TypeId == 0)
                        {
                            _out.Write("...");
                            break;
                        }
                        EmitTypeDecl(p.TypeId, p.Name, level);
                    }
                    _out.Write(')');
                    return;
                }
                default:
                    // Functions, variables, sections and decl tags never appear inside a declarator.
                    return;
            }
            lastWasPointer = kind == BtfKind.Pointer;
        }
        EmitName(fieldName, lastWasPointer);
    }
}
