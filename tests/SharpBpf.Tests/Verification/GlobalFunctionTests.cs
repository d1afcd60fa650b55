using SharpBpf.Btf;
using SharpBpf.Objects;
using SharpBpf.Testing;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>
/// Global (non-static) functions, verified as the kernel does: once on their own with their arguments assumed from their
/// BTF prototype, each call checking only the arguments (bpf/verifier/global_funcs.o; the figures are the running
/// kernel's, which GlobalFunctionKernelTests confirms).
/// </summary>
public class GlobalFunctionTests
{
    private static readonly BpfObject Object = BpfObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "verifier", "global_funcs.o"));

    private static (ObjectProgram Program, VerifierOptions Options) Prepare(string name, int logLevel = 1)
    {
        var program = Object.Programs.Single(p => p.Name == name);
        return (program, VerifierOptions.For(Object, program, logLevel));
    }

    private static VerifierResult Verify(string name, int logLevel = 1)
    {
        var (program, options) = Prepare(name, logLevel);
        return Verifier.Verify(program.Instructions, options, name);
    }

    [Fact]
    public void The_loader_passes_each_functions_btf_to_the_verifier()
    {
        var (program, options) = Prepare("scalars_and_ctx");
        Assert.NotNull(options.ProgramBtf);
        Assert.Equal(program.ToBpfProgram().FunctionStarts, options.FunctionInfo.Select(f => f.Pc));
        var names = options.FunctionInfo.Select(f => options.ProgramBtf![f.TypeId].Name).ToList();
        Assert.Equal(["scalars_and_ctx", "mix", "frame_length", "frame_mark", "mixed_length"], names);
        Assert.All(options.FunctionInfo, f => Assert.Equal(BtfFunctionLinkage.Global, options.ProgramBtf![f.TypeId].FunctionLinkage));

        var (_, locked) = Prepare("static_call_while_locked");
        Assert.Equal(BtfFunctionLinkage.Static, locked.ProgramBtf![locked.FunctionInfo[1].TypeId].FunctionLinkage);
    }

    [Fact]
    public void Global_functions_are_verified_once_after_the_caller()
    {
        var result = Verify("scalars_and_ctx", logLevel: 2);
        Assert.True(result.Accepted, result.Log);
        Assert.Equal(35, result.Statistics.Processed);
        var lines = result.Log.Split('\n');

        // At the call: the prototype is checked and R0 is an unknown scalar.
        int call = Array.IndexOf(lines, "Func#1 ('mix') is global and assumed valid.");
        Assert.True(call > 0, result.Log);
        Assert.Equal("4: R0=scalar()", lines[call + 1]);

        // After the caller: each function on its own, arguments from the prototype.
        int validating = Array.IndexOf(lines, "Validating mix() func#1...");
        Assert.True(validating > call);
        Assert.Equal("20: R1=scalar() R2=scalar() R10=fp0", lines[validating + 1]);
        Assert.Contains("24: R1=ctx() R10=fp0", lines);
        Assert.Contains("26: R1=ctx() R10=fp0", lines); // void *ctx __arg_ctx
        foreach (var (index, name) in new[] { (1, "mix"), (2, "frame_length"), (3, "frame_mark"), (4, "mixed_length") })
        {
            Assert.Single(lines, $"Func#{index} ('{name}') is safe for any args that match its prototype");
        }
    }

    [Fact]
    public void At_level_one_an_accepted_programs_log_keeps_the_last_verified_function()
    {
        var result = Verify("scalars_and_ctx");
        Assert.Equal("Func#4 ('mixed_length') is safe for any args that match its prototype", result.Log.Split('\n')[0]);
        Assert.StartsWith("processed 35 insns", result.Log.Split('\n')[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_pointer_argument_is_memory_of_the_pointees_size_that_may_be_null()
    {
        var accepted = Verify("memory_args");
        Assert.True(accepted.Accepted, accepted.Log);
        Assert.Equal(41, accepted.Statistics.Processed);
        Assert.True(Verify("null_memory_arg").Accepted);

        var result = Verify("callee_misses_null_check");
        Assert.False(result.Accepted);
        Assert.Equal("R1 invalid mem access 'mem_or_null'", result.Error!.Message);
        Assert.Equal(19, result.Statistics.Processed);
        var lines = result.Log.Split('\n');
        Assert.Equal("Validating unchecked_total() func#1...", lines[0]);
        Assert.Equal("16: R1=mem_or_null(id=1,sz=16) R10=fp0", lines[1]);
    }

    [Theory]
    [InlineData("nonnull_given_maybe_null", "arg#0 is expected to be non-NULL", "packets_of", 8)]
    [InlineData("pointer_for_scalar", "R1 is not a scalar", "fold", 9)]
    [InlineData("map_value_for_ctx", "arg#0 expects pointer to ctx", "frame_length", 9)]
    [InlineData("locked_value_for_memory", "bpf_spin_lock cannot be accessed directly by load/store", "total", 9)]
    [InlineData("small_stack_for_memory", "invalid read from stack R1 off=-8 size=16", "total", 5)]
    [InlineData("global_returns_pointer", "Global function counter_of() doesn't return scalar. Only those are supported.", "counter_of", 2)]
    [InlineData("global_returns_void", "Global function nothing() doesn't return scalar. Only those are supported.", "nothing", 1)]
    [InlineData("void_pointer_arg", "arg#0 reference type('UNKNOWN ') size cannot be determined: -22", "takes_void", 1)]
    [InlineData("short_packet_for_memory", "invalid access to packet, off=0 size=14, R1(id=0,off=0,r=10)", "takes_eth", 7)]
    [InlineData("nullable_tag", "arg#0 has invalid combination of tags", "nullable_mem", 5)]
    [InlineData("ctx_tag_wrong_type", "arg#0 should be `struct __sk_buff *`", "wrong_ctx_tag", 1)]
    [InlineData("ctx_for_memory", "R1 type=ctx expected=fp", "xdp_ctx", 1)]
    public void A_call_that_does_not_match_the_prototype_is_refused(string program, string error, string function, int processed)
    {
        var result = Verify(program);
        Assert.False(result.Accepted);
        Assert.Equal(error, result.Error!.Message);
        Assert.Equal(processed, result.Statistics.Processed);
        // The reason, then the kernel's verdict on the call as the last line before the statistics.
        var lines = result.Log.Split('\n');
        Assert.True(Array.IndexOf(lines, error) >= 0, result.Log);
        Assert.Equal($"Caller passes invalid args into func#1 ('{function}')", lines[^3]);
    }

    [Fact]
    public void Only_global_functions_may_not_be_called_with_a_lock_held()
    {
        var global = Verify("global_call_while_locked");
        Assert.False(global.Accepted);
        Assert.Equal("global function calls are not allowed while holding a lock,", global.Error!.Message);
        Assert.Contains("global function calls are not allowed while holding a lock,\nuse static function instead\n", global.Log, StringComparison.Ordinal);

        var local = Verify("static_call_while_locked");
        Assert.True(local.Accepted, local.Log);
        Assert.Equal(22, local.Statistics.Processed);
    }

    [Fact]
    public void A_global_function_that_may_change_the_packet_invalidates_the_callers_packet_pointers()
    {
        var result = Verify("packet_after_global_pull");
        Assert.False(result.Accepted);
        Assert.Equal("R6 invalid mem access 'scalar'", result.Error!.Message);
        Assert.Equal(8, result.Statistics.Processed);
    }

    [Theory]
    [InlineData("global_recursion", "the call stack of 8 frames is too deep !", 20)]
    [InlineData("global_combined_stack", "combined stack size of 2 calls is 608. Too large", 34)]
    [InlineData("tail_call_under_big_stack", "tail_calls are not allowed when call stack of previous frames is 304 bytes. Too large", 24)]
    public void Call_chains_are_bounded_after_verification(string program, string error, int processed)
    {
        var result = Verify(program);
        Assert.False(result.Accepted);
        Assert.Equal(error, result.Error!.Message);
        Assert.Equal(processed, result.Statistics.Processed);

        // The functions themselves were verified (and the kernel logs each global one so) before the call chains were measured.
        Assert.Matches(@"^(Func#1 \('\w+'\) is safe for any args that match its prototype\n)?" + System.Text.RegularExpressions.Regex.Escape(error) + "\n", result.Log);
    }

    [Theory]
    [InlineData("packet_after_global_tail_call", false, 8)]
    [InlineData("packet_after_static_tail_call", false, 11)]
    [InlineData("packet_after_tail_call", true, 18)]
    public void A_tail_call_in_a_function_invalidates_its_callers_packet_pointers(string program, bool accepted, int processed)
    {
        // A tail call that succeeds returns from the function at once, with whatever the programs it ran did to the
        // packet; a tail call in the program itself never comes back when it succeeds.
        var result = Verify(program, logLevel: 2);
        Assert.True(result.Accepted == accepted, result.Log);
        Assert.Equal(processed, result.Statistics.Processed);
        if (!accepted)
        {
            Assert.Equal("R6 invalid mem access 'scalar'", result.Error!.Message);
        }
    }

    [Theory]
    [InlineData("packet_for_memory", 24)]
    [InlineData("enum_args", 17)]
    public void Packet_memory_and_enum_arguments_match_the_prototype(string program, int processed)
    {
        var result = Verify(program);
        Assert.True(result.Accepted, result.Log);
        Assert.Equal(processed, result.Statistics.Processed);
    }

    [Fact]
    public void A_global_function_may_not_be_a_callback()
    {
        var result = Verify("global_callback");
        Assert.False(result.Accepted);
        Assert.Equal("callback function not static", result.Error!.Message);
        Assert.Equal(2, result.Statistics.Processed);
    }

    [Fact]
    public void Objects_loaded_into_the_vm_are_verified_with_their_function_info()
    {
        using var vm = SharpBpf.Hosting.VmObject.Load(Path.Combine(SharedData.RepositoryRoot, "bpf", "verifier", "global_funcs.o"));
        Assert.True(vm.Program("scalars_and_ctx").Verification!.Accepted);
        var refused = vm.Program("callee_misses_null_check").Verification!;
        Assert.False(refused.Accepted);
        Assert.Equal("R1 invalid mem access 'mem_or_null'", refused.Error!.Message);
    }

    [Fact]
    public void Without_function_info_every_function_is_verified_with_its_callers_registers()
    {
        // As the kernel without func_info: the caller's map value is known not to be NULL inside the function.
        var (program, options) = Prepare("callee_misses_null_check");
        var inline = new VerifierOptions { ProgramType = options.ProgramType, Maps = options.Maps };
        var result = Verifier.Verify(program.Instructions, inline, program.Name);
        Assert.True(result.Accepted, result.Log);
    }

    [Fact]
    public void Function_info_that_does_not_fit_the_program_is_ignored()
    {
        var (program, options) = Prepare("callee_misses_null_check");
        var shifted = new VerifierOptions
        {
            ProgramType = options.ProgramType,
            Maps = options.Maps,
            ProgramBtf = options.ProgramBtf,
            FunctionInfo = [.. options.FunctionInfo.Select(f => f with { Pc = f.Pc + 1 })],
        };
        Assert.True(Verifier.Verify(program.Instructions, shifted, program.Name).Accepted);

        var badType = new VerifierOptions
        {
            ProgramType = options.ProgramType,
            Maps = options.Maps,
            ProgramBtf = options.ProgramBtf,
            FunctionInfo = [.. options.FunctionInfo.Select(f => f with { TypeId = 100_000 })],
        };
        Assert.True(Verifier.Verify(program.Instructions, badType, program.Name).Accepted);
    }
}
