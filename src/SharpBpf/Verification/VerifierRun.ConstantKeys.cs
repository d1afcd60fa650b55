namespace SharpBpf.Verification;

internal sealed partial class VerifierRun
{
    /// <summary>
    /// Whether a bpf_map_lookup_elem call cannot return NULL: an array whose 4-byte key on the stack is known (zero bytes
    /// or a spilled constant of the key's size) and inside the array. The running kernel then returns a plain map value
    /// (it elides the null check, <c>can_elide_value_nullness</c>); as the answer relies on the key's value, the spilled
    /// key is made precise. Called before the call clobbers R2.
    /// </summary>
    private bool LookupCannotFail(int mapIndex)
    {
        if (mapIndex < 0 || _maps[mapIndex] is not { Type: MapType.Array or MapType.PerCpuArray, KeySize: 4 } map)
        {
            return false;
        }

        var key = Regs[2];
        if (key.Type != RegisterType.Stack || key.Flags != RegisterTypeFlags.None || !key.VarOff.IsConst)
        {
            return false;
        }

        var frame = StackFrameOf(key);
        long slot = -(key.Off + (long)key.VarOff.Value) - 1;
        if (slot < 0 || slot >= frame.AllocatedStack)
        {
            return false;
        }

        int spi = (int)slot / 8;
        int zeros = BytesOfType(frame, (int)slot, StackByte.Zero);
        if (zeros >= 4)
        {
            return map.MaxEntries > 0;
        }

        var spilled = frame.Spilled[spi];
        if (!frame.IsSpilled(spi) || spilled.Type != RegisterType.Scalar || BytesOfType(frame, (int)slot, StackByte.Spill) != 4 || !spilled.VarOff.IsConst)
        {
            return false;
        }

        ResetBacktrack(_cur.CurFrame);
        _btSlots[frame.FrameNo] |= 1UL << spi;
        Backtrack();
        return spilled.VarOff.Value < map.MaxEntries;
    }

    /// <summary>How many bytes from <paramref name="slot"/> down to the start of its 8-byte slot are of <paramref name="type"/> in a row.</summary>
    private static int BytesOfType(FrameState frame, int slot, StackByte type)
    {
        int count = 0;
        for (int i = slot; i >= slot / 8 * 8 && frame.Stack[i] == type; i--)
        {
            count++;
        }

        return count;
    }
}
