using SharpBpf.Maps;
using static SharpBpf.Tests.Maps.MapTestSupport;

namespace SharpBpf.Tests.Maps;

public class LpmTrieTests
{
    private static byte[] Key(int prefix, byte a, byte b, byte c, byte d) => [.. U32((uint)prefix), a, b, c, d];

    private static MapSpec Ipv4(int max = 16) => Spec(MapType.LpmTrie, 8, 4, max, MapFlags.NoPrealloc, "lpm");

    private static uint? Match(BpfMap map, byte a, byte b, byte c, byte d)
    {
        var value = new byte[4];
        return map.Lookup(Key(32, a, b, c, d), value) == MapResult.Success ? BitConverter.ToUInt32(value) : null;
    }

    [Fact]
    public void LongestPrefixWinsIncludingDefaultRouteAndHostRoute()
    {
        var map = NewSet().Create(Ipv4());
        Assert.Equal(MapResult.Success, map.Update(Key(0, 0, 0, 0, 0), U32(0)));
        Assert.Equal(MapResult.Success, map.Update(Key(8, 10, 0, 0, 0), U32(8)));
        Assert.Equal(MapResult.Success, map.Update(Key(16, 10, 1, 0, 0), U32(16)));
        Assert.Equal(MapResult.Success, map.Update(Key(24, 10, 1, 2, 0), U32(24)));
        Assert.Equal(MapResult.Success, map.Update(Key(32, 10, 1, 2, 3), U32(32)));
        Assert.Equal(MapResult.Success, map.Update(Key(24, 10, 1, 128, 0), U32(1024)));

        Assert.Equal(32u, Match(map, 10, 1, 2, 3));
        Assert.Equal(24u, Match(map, 10, 1, 2, 4));
        Assert.Equal(1024u, Match(map, 10, 1, 128, 9));
        Assert.Equal(16u, Match(map, 10, 1, 3, 1));
        Assert.Equal(8u, Match(map, 10, 200, 0, 1));
        Assert.Equal(0u, Match(map, 192, 168, 0, 1));

        // The lookup key's own prefix length bounds the match.
        var value = new byte[4];
        Assert.Equal(MapResult.Success, map.Lookup(Key(20, 10, 1, 2, 3), value));
        Assert.Equal(16u, BitConverter.ToUInt32(value));

        // Removing the default route leaves unmatched addresses unmatched.
        Assert.Equal(MapResult.Success, map.Delete(Key(0, 0, 0, 0, 0)));
        Assert.Null(Match(map, 192, 168, 0, 1));
        Assert.Equal(MapResult.Success, map.Delete(Key(24, 10, 1, 2, 0)));
        Assert.Equal(16u, Match(map, 10, 1, 2, 4));
        Assert.Equal(32u, Match(map, 10, 1, 2, 3));
        Assert.Equal(MapResult.NotFound, map.Delete(Key(24, 10, 1, 2, 0)));
        Assert.Equal(MapResult.NotFound, map.Delete(Key(12, 10, 0, 0, 0))); // an intermediate-only prefix
    }

    [Fact]
    public void FlagsLimitsAndPrefixLengthErrors()
    {
        var map = NewSet().Create(Ipv4(max: 2));
        Assert.Equal(MapResult.Invalid, map.Update(Key(33, 1, 2, 3, 4), U32(1)));
        Assert.Equal(MapResult.NotFound, map.Update(Key(8, 1, 0, 0, 0), U32(1), MapUpdateFlags.Exist));
        Assert.Equal(MapResult.Success, map.Update(Key(8, 1, 0, 0, 0), U32(1), MapUpdateFlags.NoExist));
        Assert.Equal(MapResult.Exists, map.Update(Key(8, 1, 9, 9, 9), U32(2), MapUpdateFlags.NoExist)); // same /8 prefix
        Assert.Equal(MapResult.Success, map.Update(Key(8, 1, 0, 0, 0), U32(3), MapUpdateFlags.Exist));
        Assert.Equal(MapResult.Success, map.Update(Key(16, 1, 1, 0, 0), U32(4)));
        Assert.Equal(MapResult.NoSpace, map.Update(Key(16, 1, 2, 0, 0), U32(5)));
        Assert.Equal(MapResult.Success, map.Update(Key(16, 1, 1, 0, 0), U32(6))); // replacing fits
        Assert.Equal(6u, Match(map, 1, 1, 7, 7));
        Assert.Equal(3u, Match(map, 1, 2, 7, 7));
        Assert.Equal(MapResult.Invalid, map.Update(Key(8, 1, 0, 0, 0), U32(1), (MapUpdateFlags)3));
    }

    [Fact]
    public void NextKeyIsPostOrderMoreSpecificFirst()
    {
        var map = NewSet().Create(Ipv4());
        map.Update(Key(16, 192, 168, 0, 0), U32(1));
        map.Update(Key(24, 192, 168, 0, 0), U32(2));
        map.Update(Key(24, 192, 168, 1, 0), U32(3));
        map.Update(Key(24, 192, 168, 128, 0), U32(4));
        var order = map.Keys().Select(k => $"{k[4]}.{k[5]}.{k[6]}.{k[7]}/{BitConverter.ToUInt32(k)}").ToArray();
        Assert.Equal(["192.168.0.0/24", "192.168.1.0/24", "192.168.128.0/24", "192.168.0.0/16"], order);

        var next = new byte[8];
        Assert.Equal(MapResult.Success, map.GetNextKey(Key(8, 1, 1, 1, 1), next)); // unknown key: the first
        Assert.Equal(24u, BitConverter.ToUInt32(next));
        Assert.Equal(0, next[6]);
        Assert.Equal(MapResult.NotFound, map.GetNextKey(Key(16, 192, 168, 0, 0), next));
    }

    [Fact]
    public void ManyRandomPrefixesMatchABruteForceReference()
    {
        var map = NewSet().Create(Spec(MapType.LpmTrie, 8, 4, 512, MapFlags.NoPrealloc));
        var random = new Random(1234);
        var routes = new Dictionary<(int, uint), uint>();
        for (int i = 0; i < 300; i++)
        {
            int prefix = random.Next(0, 33);
            uint address = (uint)random.Next() & (prefix == 0 ? 0 : uint.MaxValue << (32 - prefix));
            var key = Key(prefix, (byte)(address >> 24), (byte)(address >> 16), (byte)(address >> 8), (byte)address);
            Assert.Equal(MapResult.Success, map.Update(key, U32((uint)i)));
            routes[(prefix, address)] = (uint)i;
            if (i % 7 == 0)
            {
                var victim = routes.Keys.First();
                routes.Remove(victim);
                uint va = victim.Item2;
                Assert.Equal(MapResult.Success, map.Delete(Key(victim.Item1, (byte)(va >> 24), (byte)(va >> 16), (byte)(va >> 8), (byte)va)));
            }
        }

        for (int i = 0; i < 2000; i++)
        {
            uint probe = (uint)random.Next();
            if (i % 2 == 0 && routes.Count > 0)
            {
                probe = routes.Keys.ElementAt(random.Next(routes.Count)).Item2 | (uint)random.Next(0, 256);
            }

            uint? expected = null;
            int best = -1;
            foreach (var ((prefix, address), value) in routes)
            {
                uint mask = prefix == 0 ? 0 : uint.MaxValue << (32 - prefix);
                if ((probe & mask) == address && prefix > best)
                {
                    best = prefix;
                    expected = value;
                }
            }

            Assert.Equal(expected, Match(map, (byte)(probe >> 24), (byte)(probe >> 16), (byte)(probe >> 8), (byte)probe));
        }

        Assert.Equal(routes.Count, map.Keys().Count());
    }
}
