using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Isa;

namespace SharpBpf.Objects;

/// <summary>Turns a validated <see cref="ElfFile"/> into a <see cref="BpfObject"/>: maps, functions, relocations, linking.</summary>
internal sealed class ObjectLoader
{
    private const byte CallOpcode = 0x85;

    private readonly ElfFile _elf;
    private readonly BpfObjectLoadOptions _options;
    private readonly List<MapDefinition> _maps = [];
    private readonly SortedSet<string> _externs = new(StringComparer.Ordinal);

    // Per executable section: decoded code, functions sorted by start, and classified relocations by instruction index.
    private readonly Dictionary<int, CodeSection> _code = [];

    // Indexes built once so that no step is quadratic in the file size (a crafted file may hold ~10^5 of each).
    private readonly Dictionary<int, List<ElfSymbol>> _symbolsBySection = [];
    private readonly Dictionary<(int Section, ulong Offset), int> _mapByLocation = [];
    private readonly Dictionary<int, int> _dataMapBySection = [];
    private long _instructionBudget;

    private ObjectLoader(ElfFile elf, BpfObjectLoadOptions options)
    {
        _elf = elf;
        _options = options;
        // Linking copies subprograms into every program that calls them; bound the total by the file size.
        _instructionBudget = Math.Max(4_000_000L, 32L * elf.Image.Length / Instruction.Size);
        foreach (var symbol in elf.Symbols)
        {
            if (symbol.IsInSection && symbol.Type != ElfSymbolType.File)
            {
                if (!_symbolsBySection.TryGetValue(symbol.SectionIndex, out var list))
                {
                    list = [];
                    _symbolsBySection[symbol.SectionIndex] = list;
                }

                list.Add(symbol);
            }
        }

        foreach (var list in _symbolsBySection.Values)
        {
            list.Sort(ByOffsetThenIndex);
        }
    }

    private List<ElfSymbol> AllSymbolsIn(int sectionIndex) =>
        _symbolsBySection.TryGetValue(sectionIndex, out var list) ? list : [];

    private sealed class CodeSection(ElfSection section, Instruction[] code)
    {
        public ElfSection Section { get; } = section;
        public Instruction[] Code { get; } = code;
        public List<Function> Functions { get; } = [];
        public Dictionary<int, PendingRelocation> Relocations { get; } = [];
    }

    private sealed record Function(string Name, CodeSection Owner, int Start, int Count, bool IsGlobal);

    private sealed record PendingRelocation(
        ProgramRelocationKind Kind, ElfSymbol Symbol, int MapIndex, long Value, ulong SectionOffset, long FileOffset, int TargetSection);

    public static BpfObject Load(ElfFile elf, BpfObjectLoadOptions options) => new ObjectLoader(elf, options).Run();

    private BpfObject Run()
    {
        string license = ReadLicense();
        uint? version = ReadVersion();
        var btf = _elf.FindSection(".BTF") is { Type: ElfSectionType.ProgBits } b ? b.Data : (ReadOnlyMemory<byte>?)null;
        var btfExt = _elf.FindSection(".BTF.ext") is { Type: ElfSectionType.ProgBits } e ? e.Data : (ReadOnlyMemory<byte>?)null;

        ReadLegacyMaps();
        ReadBtfMaps();
        ReadGlobalData();
        for (int i = 0; i < _maps.Count; i++)
        {
            var map = _maps[i];
            if (map.Kind is MapDefinitionKind.GlobalData or MapDefinitionKind.Kconfig)
            {
                _dataMapBySection.TryAdd(map.SectionIndex, i);
            }
            else
            {
                _mapByLocation.TryAdd((map.SectionIndex, map.SectionOffset), i);
            }
        }

        var slots = ReadMapSlotRelocations();

        foreach (var section in _elf.Sections)
        {
            if (section.IsExecutable && section.Size > 0)
            {
                _code[section.Index] = ReadFunctions(section);
            }
        }

        foreach (var code in _code.Values)
        {
            ReadRelocations(code);
        }

        var text = _elf.FindSection(".text");
        bool textIsLibrary = _code.Keys.Any(i => text is null || i != text.Index);
        var programs = new List<ObjectProgram>();
        foreach (var code in _code.Values.OrderBy(c => c.Section.Index))
        {
            if (textIsLibrary && text is not null && code.Section.Index == text.Index)
            {
                continue;
            }

            var section = ProgramSection.Resolve(code.Section.Name);
            foreach (var function in code.Functions)
            {
                programs.Add(Link(function, section));
            }
        }

        return new BpfObject(_elf, programs, _maps, license, version, btf, btfExt, slots, [.. _externs]);
    }

    private string ReadLicense()
    {
        var section = _elf.FindSection("license");
        if (section is null)
        {
            return string.Empty;
        }

        var bytes = section.Data.Span;
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    private uint? ReadVersion()
    {
        var section = _elf.FindSection("version");
        if (section is null)
        {
            return null;
        }

        if (section.Type != ElfSectionType.ProgBits || section.Size != 4)
        {
            throw new ElfFormatException(section.HeaderOffset, $"'version' section is {section.Size} bytes of type {section.Type}; it must be one 4-byte kernel version");
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(section.Data.Span);
    }

    private static bool IsDefinitionSymbol(in ElfSymbol symbol) =>
        symbol.Type is not (ElfSymbolType.Section or ElfSymbolType.File) && symbol.Name.Length > 0;

    private List<ElfSymbol> SymbolsIn(ElfSection section)
    {
        var list = new List<ElfSymbol>();
        foreach (var symbol in AllSymbolsIn(section.Index))
        {
            if (IsDefinitionSymbol(symbol))
            {
                list.Add(symbol);
            }
        }

        return list;
    }

    private static int ByOffsetThenIndex(ElfSymbol a, ElfSymbol b) =>
        a.Value != b.Value ? a.Value.CompareTo(b.Value) : a.Index.CompareTo(b.Index);

    private void ReadLegacyMaps()
    {
        // "maps" is the usual name; some loaders also accepted one section per map, "maps/<name>".
        foreach (var section in _elf.Sections)
        {
            if (section.Index > 0 && (section.Name == "maps" || section.Name.StartsWith("maps/", StringComparison.Ordinal)))
            {
                ReadLegacyMaps(section);
            }
        }
    }

    private void ReadLegacyMaps(ElfSection section)
    {
        var symbols = SymbolsIn(section);
        if (symbols.Count == 0)
        {
            return;
        }

        // Old compilers gave map symbols no size: then every definition has the same size, section size / count.
        int commonSize = 0;
        if (symbols.Exists(s => s.Size == 0))
        {
            if (section.Size % symbols.Count != 0)
            {
                throw new ElfFormatException(section.HeaderOffset, $"'{section.Name}' section is {section.Size} bytes for {symbols.Count} map symbols without sizes; cannot split it into equal definitions");
            }

            commonSize = (int)(section.Size / symbols.Count);
        }

        var data = section.Data;
        foreach (var symbol in symbols)
        {
            ulong size = commonSize > 0 ? (ulong)commonSize : symbol.Size;
            if (size < 4 || size > 1024)
            {
                throw new ElfFormatException(symbol.FileOffset + 16, $"map '{symbol.Name}' has a definition size of {size} bytes, which is not a map definition");
            }

            if (symbol.Value > (ulong)data.Length || size > (ulong)data.Length - symbol.Value)
            {
                throw new ElfFormatException(symbol.FileOffset + 8, $"map '{symbol.Name}' (offset {symbol.Value}, size {size}) lies outside the {data.Length}-byte '{section.Name}' section");
            }

            var raw = data.Slice((int)symbol.Value, (int)size);
            bool iproute2 = _options.LegacyMapLayout switch
            {
                LegacyMapLayout.Iproute2ElfMap => true,
                LegacyMapLayout.BpfMapDef => false,
                _ => size >= 36,
            };
            uint Field(int index) => (index + 1) * 4 <= raw.Length ? BinaryPrimitives.ReadUInt32LittleEndian(raw.Span[(index * 4)..]) : 0;
            var map = iproute2
                ? new MapDefinition(symbol.Name, MapDefinitionKind.Iproute2, section.Index, section.Name, symbol.Value, (int)size)
                {
                    Type = (MapType)Field(0), KeySize = Field(1), ValueSize = Field(2), MaxEntries = Field(3), Flags = Field(4),
                    Id = Field(5), Pinning = Field(6), InnerId = Field(7), InnerIndex = Field(8), RawDefinition = raw,
                }
                : new MapDefinition(symbol.Name, MapDefinitionKind.Legacy, section.Index, section.Name, symbol.Value, (int)size)
                {
                    Type = (MapType)Field(0), KeySize = Field(1), ValueSize = Field(2), MaxEntries = Field(3), Flags = Field(4),
                    InnerMapIndex = Field(5), NumaNode = Field(6), RawDefinition = raw,
                };
            _maps.Add(map);
        }
    }

    private void ReadBtfMaps()
    {
        var section = _elf.FindSection(".maps");
        if (section is null)
        {
            return;
        }

        var symbols = SymbolsIn(section);
        if (symbols.Count == 0)
        {
            return;
        }

        var (btf, variables) = ReadMapVariables(symbols[0].Name);
        foreach (var symbol in symbols)
        {
            if (symbol.Value > (ulong)section.Size || symbol.Size > (ulong)section.Size - symbol.Value)
            {
                throw new ElfFormatException(symbol.FileOffset + 8, $"map '{symbol.Name}' (offset {symbol.Value}, size {symbol.Size}) lies outside the {section.Size}-byte '.maps' section");
            }

            if (!variables.TryGetValue(symbol.Name, out int structId))
            {
                throw new MapDefinitionException(symbol.Name, "it has no VAR in the '.maps' DATASEC of the object's BTF");
            }

            var fields = BtfMapDefinitionReader.Read(btf, symbol.Name, structId);
            long structSize = btf.GetSize(structId);
            if (structSize > (long)symbol.Size)
            {
                throw new MapDefinitionException(symbol.Name, $"its definition struct is {structSize} bytes but its symbol only {symbol.Size}");
            }

            var raw = section.Type == ElfSectionType.NoBits ? ReadOnlyMemory<byte>.Empty : section.Data.Slice((int)symbol.Value, (int)symbol.Size);
            _maps.Add(BtfMapDefinition(symbol.Name, fields, section, symbol.Value, (int)symbol.Size, raw));
        }
    }

    private static MapDefinition BtfMapDefinition(string name, BtfMapFields fields, ElfSection section, ulong offset, int size, ReadOnlyMemory<byte> raw) =>
        new(name, MapDefinitionKind.BtfDefined, section.Index, section.Name, offset, size)
        {
            Type = fields.Type, KeySize = fields.KeySize ?? 0, ValueSize = fields.ValueSize ?? 0, MaxEntries = fields.MaxEntries,
            Flags = fields.Flags, NumaNode = fields.NumaNode, Pinning = fields.Pinning, MapExtra = fields.MapExtra,
            KeyTypeId = fields.KeyTypeId, ValueTypeId = fields.ValueTypeId, ValuesOffset = fields.ValuesOffset, RawDefinition = raw,
            InnerMap = fields.Inner is { } inner ? BtfMapDefinition(name + ".inner", inner, section, offset, 0, ReadOnlyMemory<byte>.Empty) : null,
        };

    /// <summary>The object's BTF and, by name, the struct type of every VAR in its <c>.maps</c> DATASEC.</summary>
    private (BtfSpec Btf, Dictionary<string, int> Variables) ReadMapVariables(string firstMap)
    {
        if (_elf.FindSection(".BTF") is not { Type: ElfSectionType.ProgBits } section)
        {
            throw new MapDefinitionException(firstMap, "BTF-defined maps ('.maps') need the object's .BTF section, which is missing");
        }

        try
        {
            var btf = BtfSpec.Parse(section.Data);
            int datasec = btf.FindId(".maps", BtfKind.DataSection);
            if (datasec < 0)
            {
                throw new MapDefinitionException(firstMap, "the object's BTF has no DATASEC '.maps' describing the maps");
            }

            var variables = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var info in btf[datasec].GetVariables())
            {
                var variable = btf.GetType(info.TypeId);
                if (variable.Kind != BtfKind.Variable)
                {
                    throw new MapDefinitionException(variable.Name, $"DATASEC '.maps' lists a BTF {variable.Kind}, not a VAR");
                }

                if (variable.VariableLinkage == BtfVariableLinkage.GlobalExtern)
                {
                    throw new MapDefinitionException(variable.Name, "an extern map cannot be defined in '.maps'");
                }

                variables.TryAdd(variable.Name, variable.ReferencedTypeId);
            }

            return (btf, variables);
        }
        catch (BtfFormatException e)
        {
            throw new MapDefinitionException(firstMap, "the object's BTF, which describes the '.maps' section, is malformed: " + e.Message, e);
        }
    }

    private static bool HasPrefix(string name, string baseName) =>
        name == baseName || name.StartsWith(baseName + ".", StringComparison.Ordinal);

    private void ReadGlobalData()
    {
        foreach (var section in _elf.Sections)
        {
            bool isData = section.Type == ElfSectionType.ProgBits && (section.Flags & ElfSectionFlags.Execute) == 0 && HasPrefix(section.Name, ".data");
            bool isReadOnly = section.Type == ElfSectionType.ProgBits && (section.Flags & ElfSectionFlags.Execute) == 0 &&
                (HasPrefix(section.Name, ".rodata") || section.Name == ".kconfig");
            bool isBss = section.Type == ElfSectionType.NoBits && HasPrefix(section.Name, ".bss");
            if (!(isData || isReadOnly || isBss) || section.Size == 0)
            {
                continue;
            }

            var kind = section.Name == ".kconfig" ? MapDefinitionKind.Kconfig : MapDefinitionKind.GlobalData;
            var map = new MapDefinition(section.Name, kind, section.Index, section.Name, 0, (int)section.Size)
            {
                Type = MapType.Array, KeySize = 4, ValueSize = (uint)section.Size, MaxEntries = 1,
                IsReadOnly = isReadOnly, ZeroFilled = isBss, RawDefinition = section.Data,
            };
            if (!isBss)
            {
                map.SetInitialValue(section.Data);
            }

            _maps.Add(map);
        }
    }

    private int FindMap(int sectionIndex, ulong offset) =>
        _mapByLocation.TryGetValue((sectionIndex, offset), out int index) ? index : -1;

    private int FindDataMap(int sectionIndex) =>
        _dataMapBySection.TryGetValue(sectionIndex, out int index) ? index : -1;

    private List<MapSlotRelocation> ReadMapSlotRelocations()
    {
        var result = new List<MapSlotRelocation>();
        var section = _elf.FindSection(".maps");
        if (section is null)
        {
            return result;
        }

        // BTF maps were added in offset order: find the one containing a slot by binary search.
        var btfMaps = Enumerable.Range(0, _maps.Count).Where(i => _maps[i].Kind == MapDefinitionKind.BtfDefined).ToArray();
        int Outer(ulong offset)
        {
            int lo = 0, hi = btfMaps.Length - 1, found = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >>> 1;
                if (_maps[btfMaps[mid]].SectionOffset <= offset)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            if (found < 0)
            {
                return -1;
            }

            var map = _maps[btfMaps[found]];
            return offset - map.SectionOffset < (ulong)map.DefinitionSize ? btfMaps[found] : -1;
        }

        foreach (var table in _elf.RelocationSectionsFor(section))
        {
            foreach (var relocation in _elf.GetRelocations(table))
            {
                var symbol = _elf.Symbols[relocation.SymbolIndex];
                int outer = Outer(relocation.Offset);
                int target = symbol.IsInSection ? FindMap(symbol.SectionIndex, symbol.Value) : -1;
                result.Add(new MapSlotRelocation(relocation.Offset, outer, symbol.Name, target));
                InitialiseSlot(relocation.Offset, outer, symbol, target);
            }
        }

        return result;
    }

    /// <summary>Records a <c>.rel.maps</c> relocation as a slot of the map-in-map or program array holding it.</summary>
    private void InitialiseSlot(ulong offset, int outerIndex, in ElfSymbol symbol, int targetMapIndex)
    {
        if (outerIndex < 0)
        {
            throw new MapDefinitionException(symbol.Name, $"the '.maps' relocation at offset {offset} that refers to it is not inside any map definition");
        }

        var outer = _maps[outerIndex];
        bool isMapInMap = outer.Type is MapType.ArrayOfMaps or MapType.HashOfMaps;
        if (!isMapInMap && outer.Type != MapType.ProgramArray)
        {
            throw new MapDefinitionException(outer.Name, $"it is a {outer.Type} map, so its definition cannot refer to '{symbol.Name}'");
        }

        if (isMapInMap && (targetMapIndex < 0 || _maps[targetMapIndex].Kind != MapDefinitionKind.BtfDefined))
        {
            throw new MapDefinitionException(outer.Name, $"slot initialiser '{symbol.Name}' is not a BTF-defined map");
        }

        if (outer.Type == MapType.HashOfMaps && outer.KeySize != 4)
        {
            throw new MapDefinitionException(outer.Name, $"a hash of maps with initialised slots must have 4-byte keys, not {outer.KeySize}");
        }

        if (!isMapInMap && symbol.Type != ElfSymbolType.Function)
        {
            throw new MapDefinitionException(outer.Name, $"slot initialiser '{symbol.Name}' is not a program");
        }

        ulong inDefinition = offset - outer.SectionOffset;
        if (outer.ValuesOffset < 0 || inDefinition < (ulong)outer.ValuesOffset || (inDefinition - (ulong)outer.ValuesOffset) % 8 != 0)
        {
            throw new MapDefinitionException(outer.Name, $"the relocation for '{symbol.Name}' at offset {inDefinition} of its definition is not a slot of 'values'");
        }

        int slot = (int)((inDefinition - (ulong)outer.ValuesOffset) / 8);
        outer.AddInitialSlot(new MapSlotInitializer(slot, symbol.Name, isMapInMap ? targetMapIndex : -1));
    }

    private CodeSection ReadFunctions(ElfSection section)
    {
        if (section.Size % Instruction.Size != 0)
        {
            throw new ElfFormatException(section.HeaderOffset + 32, $"code section '{section.Name}' is {section.Size} bytes, not a whole number of 8-byte instructions");
        }

        var code = new CodeSection(section, Decode(section.Data.Span));
        int count = code.Code.Length;
        var functions = new List<ElfSymbol>();
        foreach (var symbol in AllSymbolsIn(section.Index))
        {
            if (symbol.Type == ElfSymbolType.Function)
            {
                functions.Add(symbol);
            }
        }

        if (functions.Count == 0)
        {
            // Old compilers emitted no function symbols: the whole section is one program, named after its
            // first global symbol (as pre-1.0 libbpf and the samples/bpf loader did).
            string name = section.Name;
            foreach (var symbol in SymbolsIn(section))
            {
                if (symbol.Binding == ElfSymbolBinding.Global && symbol.Value == 0)
                {
                    name = symbol.Name;
                    break;
                }
            }

            code.Functions.Add(new Function(name, code, 0, count, true));
            return code;
        }

        int previousEnd = 0;
        for (int i = 0; i < functions.Count; i++)
        {
            var symbol = functions[i];
            if (symbol.Value % Instruction.Size != 0 || symbol.Value >= (ulong)section.Size)
            {
                throw new ElfFormatException(symbol.FileOffset + 8, $"function '{symbol.Name}' starts at offset {symbol.Value}, which is not an instruction of the {section.Size}-byte section '{section.Name}'");
            }

            int start = (int)(symbol.Value / Instruction.Size);
            ulong limit = i + 1 < functions.Count ? Math.Min(functions[i + 1].Value, (ulong)section.Size) : (ulong)section.Size;
            ulong size = symbol.Size == 0 ? limit - symbol.Value : symbol.Size;
            if (size % Instruction.Size != 0 || size > (ulong)section.Size - symbol.Value)
            {
                throw new ElfFormatException(symbol.FileOffset + 16, $"function '{symbol.Name}' (offset {symbol.Value}, size {symbol.Size}) does not fit whole instructions of the {section.Size}-byte section '{section.Name}'");
            }

            if (start < previousEnd)
            {
                throw new ElfFormatException(symbol.FileOffset + 8, $"function '{symbol.Name}' at offset {symbol.Value} of '{section.Name}' overlaps the previous function");
            }

            int length = (int)(size / Instruction.Size);
            if (length == 0)
            {
                continue;
            }

            previousEnd = start + length;
            code.Functions.Add(new Function(symbol.Name, code, start, length, symbol.Binding != ElfSymbolBinding.Local));
        }

        return code;
    }

    private static Instruction[] Decode(ReadOnlySpan<byte> bytes)
    {
        if (BitConverter.IsLittleEndian)
        {
            return MemoryMarshal.Cast<byte, Instruction>(bytes).ToArray();
        }

        return Instruction.Decode(bytes);
    }

    private void ReadRelocations(CodeSection code)
    {
        var section = code.Section;
        foreach (var table in _elf.RelocationSectionsFor(section))
        {
            foreach (var relocation in _elf.GetRelocations(table))
            {
                if (relocation.Offset % Instruction.Size != 0 || relocation.Offset >= (ulong)section.Size)
                {
                    throw new ElfFormatException(relocation.FileOffset, $"relocation in '{table.Name}' patches offset {relocation.Offset}, which is not an instruction of the {section.Size}-byte section '{section.Name}'");
                }

                int index = (int)(relocation.Offset / Instruction.Size);
                var pending = Classify(code, index, relocation, table);
                if (!code.Relocations.TryAdd(index, pending))
                {
                    throw new ElfFormatException(relocation.FileOffset, $"second relocation for instruction {index} of '{section.Name}'");
                }
            }
        }
    }

    private PendingRelocation Classify(CodeSection code, int index, ElfRelocation relocation, ElfSection table)
    {
        var insn = code.Code[index];
        var symbol = _elf.Symbols[relocation.SymbolIndex];
        string where = $"relocation at offset {relocation.Offset} of '{code.Section.Name}' (against '{symbol.Name}')";
        bool isCall = insn.Opcode == CallOpcode;
        if (!isCall && !insn.IsLoadImm64)
        {
            throw new ElfFormatException(relocation.FileOffset, $"{where} patches opcode 0x{insn.Opcode:x2}, which is neither lddw nor call");
        }

        if (insn.IsLoadImm64 && index + 1 >= code.Code.Length)
        {
            throw new ElfFormatException(relocation.FileOffset, $"{where} patches an lddw whose second slot is missing (end of section)");
        }

        if (symbol.IsUndefined)
        {
            if (symbol.Binding == ElfSymbolBinding.Local || symbol.Name.Length == 0)
            {
                throw new ElfFormatException(relocation.FileOffset, $"{where} refers to an undefined local symbol");
            }

            _externs.Add(symbol.Name);
            return new PendingRelocation(isCall ? ProgramRelocationKind.ExternCall : ProgramRelocationKind.ExternLoad, symbol, -1, 0, relocation.Offset, relocation.FileOffset, -1);
        }

        if (!symbol.IsInSection)
        {
            throw new ElfFormatException(relocation.FileOffset, $"{where} refers to special section 0x{symbol.SectionIndex:x} (an uninitialised global variable?)");
        }

        var target = _elf.Sections[symbol.SectionIndex];
        if (isCall)
        {
            if (insn.Src != (byte)CallKind.Local)
            {
                throw new ElfFormatException(relocation.FileOffset, $"{where} is on a call with src={insn.Src}, not a bpf-to-bpf call (src=1)");
            }

            if (!target.IsExecutable || symbol.Value % Instruction.Size != 0)
            {
                throw new ElfFormatException(relocation.FileOffset, $"{where}: call target is offset {symbol.Value} of '{target.Name}', which is not code");
            }

            long callee = ((long)(symbol.Value / Instruction.Size)) + insn.Immediate + 1;
            return new PendingRelocation(ProgramRelocationKind.SubprogramCall, symbol, -1, callee, relocation.Offset, relocation.FileOffset, target.Index);
        }

        long addend = relocation.Addend;
        if (target.IsExecutable)
        {
            long byteOffset = (long)Math.Min(symbol.Value, (ulong)int.MaxValue) + insn.Immediate + addend;
            if (byteOffset < 0 || byteOffset % Instruction.Size != 0)
            {
                throw new ElfFormatException(relocation.FileOffset, $"{where}: function address {byteOffset} is not an instruction boundary");
            }

            return new PendingRelocation(ProgramRelocationKind.SubprogramAddress, symbol, -1, byteOffset / Instruction.Size, relocation.Offset, relocation.FileOffset, target.Index);
        }

        int dataMap = FindDataMap(target.Index);
        if (dataMap >= 0)
        {
            long offset = insn.Immediate + (long)Math.Min(symbol.Value, (ulong)int.MaxValue) + addend;
            if (offset < 0 || offset > target.Size)
            {
                throw new ElfFormatException(relocation.FileOffset, $"{where}: offset {offset} is outside the {target.Size}-byte section '{target.Name}'");
            }

            return new PendingRelocation(ProgramRelocationKind.MapValue, symbol, dataMap, offset, relocation.Offset, relocation.FileOffset, target.Index);
        }

        int map = FindMap(target.Index, symbol.Value);
        if (map < 0 && symbol.Type == ElfSymbolType.Section && insn.Immediate >= 0)
        {
            map = FindMap(target.Index, symbol.Value + (ulong)insn.Immediate);
        }

        if (map < 0)
        {
            throw new ElfFormatException(relocation.FileOffset, $"{where}: no map is defined at offset {symbol.Value} of section '{target.Name}'");
        }

        return new PendingRelocation(ProgramRelocationKind.MapReference, symbol, map, 0, relocation.Offset, relocation.FileOffset, target.Index);
    }

    private static Function? FunctionAt(CodeSection code, long index)
    {
        var functions = code.Functions;
        int lo = 0, hi = functions.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var f = functions[mid];
            if (index < f.Start)
            {
                hi = mid - 1;
            }
            else if (index >= f.Start + f.Count)
            {
                lo = mid + 1;
            }
            else
            {
                return f;
            }
        }

        return null;
    }

    private ObjectProgram Link(Function entry, ProgramSection section)
    {
        var code = new List<Instruction>(entry.Count);
        var relocations = new List<ProgramRelocation>();
        var subprograms = new List<AppendedSubprogram>();
        var placed = new Dictionary<Function, int> { [entry] = 0 };
        var queue = new Queue<Function>();
        Append(entry);
        queue.Enqueue(entry);

        void Append(Function function)
        {
            long total = (long)code.Count + function.Count;
            if (total > _options.MaxInstructionsPerProgram)
            {
                throw new ElfFormatException(-1, $"program '{entry.Name}' would have more than {_options.MaxInstructionsPerProgram} instructions once its subprograms are appended");
            }

            _instructionBudget -= function.Count;
            if (_instructionBudget < 0)
            {
                throw new ElfFormatException(-1, $"linking the programs would need far more instructions than the file holds (at '{entry.Name}')");
            }

            code.AddRange(function.Owner.Code.AsSpan(function.Start, function.Count));
        }

        int Place(Function function)
        {
            if (!placed.TryGetValue(function, out int start))
            {
                start = code.Count;
                placed[function] = start;
                subprograms.Add(new AppendedSubprogram(function.Name, function.Owner.Section.Name, start, function.Count));
                Append(function);
                queue.Enqueue(function);
            }

            return start;
        }

        while (queue.Count > 0)
        {
            var function = queue.Dequeue();
            int start = placed[function];
            var owner = function.Owner;
            for (int i = 0; i < function.Count; i++)
            {
                int at = start + i;
                var insn = code[at];
                int sectionIndex = function.Start + i;
                owner.Relocations.TryGetValue(sectionIndex, out var pending);
                if (pending is not null)
                {
                    ApplyRelocation(pending, function, at, i);
                }
                else if (insn.Opcode == CallOpcode && insn.Src == (byte)CallKind.Local)
                {
                    // A call without relocation stays inside its section: imm is relative to the instruction.
                    long target = (long)sectionIndex + insn.Immediate + 1;
                    if (target < function.Start || target >= function.Start + function.Count)
                    {
                        var callee = FunctionAt(owner, target) ?? throw new ElfFormatException(
                            owner.Section.FileOffset + ((long)sectionIndex * Instruction.Size),
                            $"call in '{function.Name}' at instruction {i} targets instruction {target} of '{owner.Section.Name}', which is in no function");
                        int calleeAt = Place(callee) + (int)(target - callee.Start);
                        code[at] = insn.WithImmediate(calleeAt - at - 1);
                        relocations.Add(new ProgramRelocation(at, ProgramRelocationKind.SubprogramCall, callee.Name, -1, calleeAt, owner.Section.Name, (ulong)sectionIndex * Instruction.Size, function.Name, false));
                    }
                }
                else if (insn.IsLoadImm64 && insn.Src == (byte)Imm64Source.Function)
                {
                    throw new ElfFormatException(owner.Section.FileOffset + ((long)sectionIndex * Instruction.Size),
                        $"function pointer load in '{function.Name}' at instruction {i} has no relocation");
                }

                if (insn.IsLoadImm64)
                {
                    i++;
                }
            }
        }

        return new ObjectProgram(entry.Name, section, entry.Owner.Section.Index, (ulong)entry.Start * Instruction.Size, entry.Count,
            [.. code], relocations, subprograms, entry.IsGlobal);

        void ApplyRelocation(PendingRelocation pending, Function function, int at, int i)
        {
            var insn = code[at];
            var owner = function.Owner;
            string sectionName = owner.Section.Name;
            if (insn.IsLoadImm64 && i + 1 >= function.Count)
            {
                throw new ElfFormatException(pending.FileOffset, $"relocated lddw at instruction {i} of '{function.Name}' is cut off by the end of the function");
            }

            switch (pending.Kind)
            {
                case ProgramRelocationKind.MapReference:
                    code[at] = new Instruction(insn.Opcode, insn.Dst, (byte)Imm64Source.MapFd, insn.Offset, pending.MapIndex);
                    code[at + 1] = code[at + 1].WithImmediate(0);
                    break;
                case ProgramRelocationKind.MapValue:
                    code[at] = new Instruction(insn.Opcode, insn.Dst, (byte)Imm64Source.MapValue, insn.Offset, pending.MapIndex);
                    code[at + 1] = code[at + 1].WithImmediate((int)pending.Value);
                    break;
                case ProgramRelocationKind.SubprogramCall:
                case ProgramRelocationKind.SubprogramAddress:
                {
                    var targetCode = _code.TryGetValue(pending.TargetSection, out var c) ? c : null;
                    var callee = targetCode is null ? null : FunctionAt(targetCode, pending.Value);
                    if (callee is null)
                    {
                        throw new ElfFormatException(pending.FileOffset, $"{(pending.Kind == ProgramRelocationKind.SubprogramCall ? "call" : "function address")} in '{function.Name}' at instruction {i} targets instruction {pending.Value} of '{_elf.Sections[pending.TargetSection].Name}', which is in no function");
                    }

                    int calleeAt = Place(callee) + (int)(pending.Value - callee.Start);
                    code[at] = pending.Kind == ProgramRelocationKind.SubprogramAddress
                        ? new Instruction(insn.Opcode, insn.Dst, (byte)Imm64Source.Function, insn.Offset, calleeAt - at - 1)
                        : insn.WithImmediate(calleeAt - at - 1);
                    relocations.Add(new ProgramRelocation(at, pending.Kind, callee.Name, -1, calleeAt, sectionName, pending.SectionOffset, function.Name));
                    return;
                }

                default:
                    break;
            }

            relocations.Add(new ProgramRelocation(at, pending.Kind, pending.Symbol.Name, pending.MapIndex,
                pending.Kind == ProgramRelocationKind.MapValue ? pending.Value : 0, sectionName, pending.SectionOffset, function.Name));
        }
    }
}
