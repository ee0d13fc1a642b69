using System.Text.RegularExpressions;

namespace Iwrs.Simulate.Tests;

[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>The tool as users run it, in process: its stdout ends with the one summary line.</summary>
[Collection(nameof(ConsoleCollection))]
public sealed partial class ProgramTests
{
    [Theory]
    [InlineData("studies/lj-mcrc.json")]
    [InlineData("studies/akk-mcrc.json")]
    public void Main_TwentyRuns_LastLineIsTheSummary(string study)
    {
        var (exit, stdout) = Run("--study", study, "--runs", "20", "--no-progress");
        Assert.Equal(0, exit);
        var last = stdout.TrimEnd('\n').Split('\n')[^1];
        Assert.Matches(SummaryLine(), last);
    }

    [Fact]
    public void Main_UnknownStudy_ExitCodeTwo()
    {
        var (exit, stdout) = Run("--study", "studies/nope.json", "--runs", "1", "--no-progress");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public void Main_StarterThatDoesNotSplitInTheRatio_ExitCodeTwo()
    {
        var (exit, stdout) = Run("--study", "studies/lj-mcrc.json", "--starter-size", "5", "--runs", "1", "--no-progress");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
    }

    [Fact]
    public void Main_PackRows_PrintedAfterTheShelfRows_WithTheirWasteBreakdown()
    {
        var (exit, stdout) = Run("--study", "studies/lj-mcrc.json", "--runs", "4", "--no-progress", "--starter-trigger", "6");
        Assert.Equal(0, exit);
        var lines = stdout.Split('\n');
        Assert.Equal(4 * 4, lines.Count(l => l.StartsWith("  subject packs (P=", StringComparison.Ordinal)));
        Assert.Equal(4, lines.Count(l => l.StartsWith("  subject packs (P=1, at once)", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("  subject packs: starters of 4 kits (2+2) serving 2 randomization(s) each, ordered below 6 randomizations", StringComparison.Ordinal));
        Assert.True(Array.FindIndex(lines, l => l.StartsWith("  subject packs (P=1)", StringComparison.Ordinal)) > Array.FindIndex(lines, l => l.StartsWith("  in-ratio", StringComparison.Ordinal)));
    }

    private static (int Exit, string Stdout) Run(params string[] args)
    {
        var entry = typeof(Options).Assembly.EntryPoint!;
        var original = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        try
        {
            Console.SetOut(stdout);
            Console.SetError(TextWriter.Null);
            var exit = (int)entry.Invoke(null, [args])!;
            return (exit, stdout.ToString());
        }
        finally
        {
            Console.SetOut(original.Out);
            Console.SetError(original.Error);
        }
    }

    [GeneratedRegex(@"^simulate: waste=\d+\.\d% hold-probability=\d\.\d{3} shipments-per-site-month=\d+\.\d{2} per-type-waste=\d+\.\d%$")]
    private static partial Regex SummaryLine();
}
