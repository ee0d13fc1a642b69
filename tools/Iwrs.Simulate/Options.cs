using System.Globalization;

namespace Iwrs.Simulate;

/// <summary>Command-line options. Levels and scenario values given here override the study file and the preset.</summary>
internal sealed record Options
{
    public const string Usage =
        """
        usage: dotnet run --project tools/Iwrs.Simulate -- --study studies/lj-mcrc.json [--runs 1000] [--seed 1]
          levels (override the study file): --trigger N --maximum N
          scenario (override the preset): --subjects N --subjects-per-month X --rate-spread X --median-pfs-months X
            --other-stop-per-cycle X --shelf-life-days N --lot-size N --reorder-point N
            --production-lead-days N --damage-per-kit X
          subject packs (the compared rows "subject packs (P=1..3)"): --starter-size N (kits, a multiple of the
            ratios' sum) --starter-trigger N (randomizations)
          --no-on-treatment   the composition sees allocation shares only, not each type's subjects on treatment
          --threads N         parallel runs (default: one per core)
          --no-progress       no progress bar on stderr
          --log-holds         one line per supply hold on stderr (unblinded: per-type counts)
        """;

    public required string StudyPath { get; init; }
    public int Runs { get; init; } = 1000;
    public ulong Seed { get; init; } = 1;
    public int? Trigger { get; init; }
    public int? Maximum { get; init; }
    public int? Subjects { get; init; }
    public double? SubjectsPerMonth { get; init; }
    public double? RateSpread { get; init; }
    public double? MedianPfsMonths { get; init; }
    public double? OtherStopPerCycle { get; init; }
    public int? ShelfLifeDays { get; init; }
    public int? LotSize { get; init; }
    public int? ReorderPoint { get; init; }
    public int? ProductionLeadDays { get; init; }
    public double? DamagePerKit { get; init; }
    public bool SeesOnTreatment { get; init; } = true;

    /// <summary>Kits per starter shipment in the subject-pack rows; null: <see cref="PackDesign"/>'s default for the study.</summary>
    public int? StarterSize { get; init; }

    /// <summary>The subject-pack rows' starter trigger, in randomizations; null: <see cref="Iwrs.Domain.Supply.SubjectPacks.DefaultStarterTrigger"/>.</summary>
    public int? StarterTrigger { get; init; }

    public int Threads { get; init; }
    public bool Progress { get; init; } = true;
    public bool LogHolds { get; init; }

    /// <summary>The options, or why the arguments are not valid.</summary>
    public static (Options? Options, string? Error) Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        string[] flagNames = ["--no-on-treatment", "--no-progress", "--log-holds", "--help", "-h"];
        for (var i = 0; i < args.Count; i++)
        {
            if (flagNames.Contains(args[i]))
            {
                flags.Add(args[i]);
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Count)
            {
                values[args[i]] = args[++i];
            }
            else
            {
                return (null, $"unexpected argument '{args[i]}'");
            }
        }

        if (flags.Contains("--help") || flags.Contains("-h"))
        {
            return (null, "");
        }

        if (!values.Remove("--study", out var study))
        {
            return (null, "--study is required");
        }

        var errors = new List<string>();
        int? Int(string name, int min)
        {
            if (!values.Remove(name, out var text))
            {
                return null;
            }

            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min)
            {
                return v;
            }

            errors.Add($"{name} must be a whole number of at least {min}");
            return null;
        }

        double? Real(string name, double min, double max)
        {
            if (!values.Remove(name, out var text))
            {
                return null;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max)
            {
                return v;
            }

            errors.Add($"{name} must be a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}");
            return null;
        }

        ulong seed = 1;
        if (values.Remove("--seed", out var seedText) && !ulong.TryParse(seedText, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
        {
            errors.Add("--seed must be a whole number");
        }

        var options = new Options
        {
            StudyPath = study,
            Runs = Int("--runs", 1) ?? 1000,
            Seed = seed,
            Trigger = Int("--trigger", 0),
            Maximum = Int("--maximum", 1),
            Subjects = Int("--subjects", 1),
            SubjectsPerMonth = Real("--subjects-per-month", 0.01, 10_000),
            RateSpread = Real("--rate-spread", 0, 0.99),
            MedianPfsMonths = Real("--median-pfs-months", 0.1, 1_000),
            OtherStopPerCycle = Real("--other-stop-per-cycle", 0, 0.99),
            ShelfLifeDays = Int("--shelf-life-days", 1),
            LotSize = Int("--lot-size", 1),
            ReorderPoint = Int("--reorder-point", 0),
            ProductionLeadDays = Int("--production-lead-days", 0),
            DamagePerKit = Real("--damage-per-kit", 0, 1),
            StarterSize = Int("--starter-size", 1),
            StarterTrigger = Int("--starter-trigger", 0),
            Threads = Int("--threads", 1) ?? 0,
            SeesOnTreatment = !flags.Contains("--no-on-treatment"),
            Progress = !flags.Contains("--no-progress"),
            LogHolds = flags.Contains("--log-holds"),
        };

        errors.AddRange(values.Keys.Select(k => $"unknown option '{k}'"));
        return errors.Count > 0 ? (null, string.Join("; ", errors)) : (options, null);
    }

    /// <summary>The preset with this command line's overrides.</summary>
    public Scenario Apply(Scenario preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return preset with
        {
            Subjects = Subjects ?? preset.Subjects,
            SubjectsPerMonth = SubjectsPerMonth ?? preset.SubjectsPerMonth,
            RateSpread = RateSpread ?? preset.RateSpread,
            MedianPfsMonths = MedianPfsMonths ?? preset.MedianPfsMonths,
            OtherStopPerCycle = OtherStopPerCycle ?? preset.OtherStopPerCycle,
            ShelfLifeDays = ShelfLifeDays ?? preset.ShelfLifeDays,
            LotSize = LotSize ?? preset.LotSize,
            ReorderPoint = ReorderPoint ?? preset.ReorderPoint,
            ProductionLeadDays = ProductionLeadDays ?? preset.ProductionLeadDays,
            DamagePerKit = DamagePerKit ?? preset.DamagePerKit,
        };
    }
}
