using System.Globalization;

namespace Iwrs.Benchmark;

/// <summary>The few knobs, as <c>--name value</c> pairs; the defaults finish in well under three minutes on 2 cores.</summary>
public sealed record Options(int Sequential, int Concurrent, int Clients, int Warmup, int WarmupSequential, int Batches, int BatchWarmup)
{
    public const string Usage =
        "usage: dotnet run -c Release --project tools/Iwrs.Benchmark -- [--sequential 60] [--randomizations 200] [--clients 16] [--warmup 24] [--batches 200]";

    public static Options Parse(string[] args)
    {
        var values = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["--sequential"] = 60,
            ["--randomizations"] = 200,
            ["--clients"] = 16,
            ["--warmup"] = 24,
            ["--batches"] = 200,
        };
        for (var i = 0; i < args.Length; i++)
        {
            if (!values.ContainsKey(args[i]))
            {
                throw new ArgumentException($"Unknown option '{args[i]}'.");
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
            {
                throw new ArgumentException($"{args[i]} needs a positive whole number.");
            }

            values[args[i]] = value;
            i++;
        }

        var clients = values["--clients"];
        var warmup = Math.Max(values["--warmup"], clients + 1);
        return new Options(
            Sequential: values["--sequential"],
            Concurrent: values["--randomizations"],
            Clients: clients,
            Warmup: warmup,
            WarmupSequential: Math.Min(8, warmup - clients),
            Batches: values["--batches"],
            BatchWarmup: 10);
    }

    public override string ToString() =>
        $"{Sequential} sequential randomizations (1 client), {Concurrent} over {Clients} concurrent clients, {Warmup} warm-up (not counted), {Batches} bare $batch calls";
}
