using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Iwrs.Domain.Studies;
using Iwrs.Simulate;

// Supply simulator: the product's supply rules (Iwrs.Domain.Supply) over many simulated trials of one study file,
// for the blind-safe rule with random and first-expiry-first kit choice, the old per-type rule, and the blind-safe rule
// with stock counted as the product's resupply check counts it today, in-ratio shipments, and (simulated only) the
// subject-pack design, all on the same trials.
var (options, error) = Options.Parse(args);
if (options is null)
{
    if (!string.IsNullOrEmpty(error))
    {
        Console.Error.WriteLine("simulate: " + error);
    }

    Console.Error.WriteLine(Options.Usage);
    return string.IsNullOrEmpty(error) ? 0 : 2;
}

var loaded = StudyFile.Load(options.StudyPath, options.Trigger, options.Maximum);
if (loaded.Study is null)
{
    Console.Error.WriteLine("simulate: " + loaded.Error);
    return 2;
}

var study = loaded.Study;
if (PackDesign.Invalid(study, options.StarterSize) is { } invalid)
{
    Console.Error.WriteLine("simulate: " + invalid);
    return 2;
}

var scenario = options.Apply(Scenario.For(study));
var policies = Policy.Compared(options.SeesOnTreatment, options.StarterSize, options.StarterTrigger);
var clock = Stopwatch.StartNew();
var bar = options.Progress ? new ProgressBar(options.Runs) : null;
var holdLog = options.LogHolds ? TextWriter.Synchronized(Console.Error) : null;
var summaries = Simulation.Run(study, scenario, policies, options.Runs, options.Seed, options.Threads, bar is null ? null : bar.Report, holdLog);
bar?.Finish();

Console.Write(Report.Text(study, scenario, options, summaries, clock.Elapsed));
return 0;

/// <summary>Reads a studies/*.json file as the tests do (web names, unknown members refused) and validates it.</summary>
internal static class StudyFile
{
    private static readonly JsonSerializerOptions ReadOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static (StudyConfiguration? Study, string? Error) Load(string path, int? trigger = null, int? maximum = null)
    {
        var found = Resolve(path);
        if (found is null)
        {
            return (null, $"study file '{path}' not found");
        }

        StudyDefinition? definition;
        try
        {
            definition = JsonSerializer.Deserialize<StudyDefinition>(File.ReadAllText(found), ReadOptions);
        }
        catch (JsonException e)
        {
            return (null, $"{found}: {e.Message}");
        }

        if (definition is not null && (trigger is not null || maximum is not null))
        {
            SupplyDefinition? Override(SupplyDefinition? s) =>
                s is null ? null : s with { TriggerLevel = trigger ?? s.TriggerLevel, MaximumLevel = maximum ?? s.MaximumLevel };
            definition = definition with
            {
                Supply = Override(definition.Supply),
                Sites = definition.Sites?.Select(s => s is null ? null : s with { Supply = Override(s.Supply) }).ToList(),
            };
        }

        var created = StudyConfiguration.Create(definition);
        return created.IsSuccess
            ? (created.Value, null)
            : (null, $"{found}: {created.Error!.Message} " + string.Join("; ", (created.Error.Errors ?? []).Select(e => e.Field + " " + e.Reason)));
    }

    /// <summary>The path as given, or relative to the repository root (the folder holding Iwrs.sln) above the working directory.</summary>
    private static string? Resolve(string path)
    {
        if (File.Exists(path))
        {
            return path;
        }

        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Iwrs.sln")))
            {
                var candidate = Path.Combine(dir.FullName, path);
                return File.Exists(candidate) ? candidate : null;
            }
        }

        return null;
    }
}

/// <summary>A text progress bar on stderr, redrawn when a run completes and the bar moves.</summary>
internal sealed class ProgressBar(int total)
{
    private const int Width = 40;
    private readonly Lock _lock = new();
    private int _drawn = -1;

    public void Report(int done)
    {
        var filled = (int)((long)done * Width / total);
        lock (_lock)
        {
            if (filled <= _drawn && done != total)
            {
                return;
            }

            _drawn = filled;
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total} runs"));
        }
    }

    public void Finish()
    {
        lock (_lock)
        {
            Console.Error.WriteLine();
        }
    }
}
