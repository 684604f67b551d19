using System.Diagnostics;

namespace Braid.EndToEnd.Tests;

/// <summary>
/// What the Python example client needs (issue 13, item 6): a python3 that imports grpc and
/// google.protobuf, protoc and grpc_python_plugin. .ci/run installs them as root
/// (scripts/install-python.sh); BRAID_PYTHON names another interpreter.
/// </summary>
internal static class PythonTools
{
    private static readonly Lazy<(string? Python, string? Missing)> Found = new(Find);

    /// <summary>The interpreter to run the example with, or null (see <see cref="Missing"/>).</summary>
    public static string? Python => Found.Value.Python;

    /// <summary>What is missing, as a sentence with the fix; null when everything is there.</summary>
    public static string? Missing => Found.Value.Missing;

    public static bool IsRoot => Environment.UserName == "root";

    private static (string?, string?) Find()
    {
        var missing = new List<string>();
        string[] candidates = [Environment.GetEnvironmentVariable("BRAID_PYTHON") ?? "", "/usr/bin/python3", OnPath("python3") ?? ""];
        var python = candidates.FirstOrDefault(c => c.Length > 0 && File.Exists(c) && Imports(c));
        if (python is null) missing.Add("a python3 that imports grpc and google.protobuf (Debian: python3-grpcio python3-protobuf)");
        if (OnPath("protoc") is null) missing.Add("protoc (Debian: protobuf-compiler)");
        if (OnPath("grpc_python_plugin") is null) missing.Add("grpc_python_plugin (Debian: protobuf-compiler-grpc)");
        return missing.Count == 0 ? (python, null)
            : (python, $"the Python example client needs {string.Join(", ", missing)}: run scripts/install-python.sh as root (.ci/run does)");
    }

    private static bool Imports(string python)
    {
        try
        {
            var result = ExternalProcess.RunAsync(python, TimeSpan.FromSeconds(30), "-c", "import grpc, google.protobuf").GetAwaiter().GetResult();
            return result.ExitCode == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or TimeoutException)
        {
            return false;
        }
    }

    public static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}

/// <summary>
/// A fact that needs <see cref="PythonTools"/>: skipped, with what is missing and how to install it,
/// on a developer's machine without them; as root (CI, where .ci/run installs them) it runs, and
/// the test fails with that reason instead of passing unnoticed.
/// </summary>
public sealed class PythonFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the tools are missing and this is not root.</summary>
    public PythonFactAttribute()
    {
        if (!PythonTools.IsRoot && PythonTools.Missing is { } missing) Skip = missing;
    }
}

/// <summary>Runs a program other than braid as a child process, with a timeout.</summary>
internal static class ExternalProcess
{
    public static async Task<CommandResult> RunAsync(string file, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s; stdout so far:\n{await stdout}\nstderr:\n{await stderr}");
        }
        return new CommandResult(process.ExitCode, await stdout, await stderr);
    }
}
