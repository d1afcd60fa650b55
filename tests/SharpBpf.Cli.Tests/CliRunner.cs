namespace SharpBpf.Cli.Tests;

/// <summary>Runs the sharpbpf command line in-process with captured output.</summary>
internal static class CliRunner
{
    /// <summary>Runs <c>sharpbpf ARGS</c>; returns the exit code, standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
