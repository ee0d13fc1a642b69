using Iwrs.Domain.Studies;

namespace Iwrs.Simulate;

/// <summary>
/// Many random trials, each run under every policy: the trial (arrivals, strata, arms' list, visit offsets,
/// treatment length) is drawn once per run from (seed, run), so the policies are compared on the same people.
/// Runs go in parallel; each run's randomness is its own, and results are pooled in run order, so the figures
/// depend only on the seed, never on the thread count.
/// </summary>
internal static class Simulation
{
    public static IReadOnlyList<Summary> Run(
        StudyConfiguration study, Scenario scenario, IReadOnlyList<Policy> policies, int runs, ulong seed, int threads = 0, Action<int>? progress = null, TextWriter? holdLog = null)
    {
        ArgumentNullException.ThrowIfNull(study);
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(policies);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        var outcomes = new RunOutcome[runs][];
        var done = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, runs, options, run =>
        {
            var trial = Trial.Draw(study, scenario, seed, run);
            outcomes[run] = [.. policies.Select(p => p.Packs is null
                ? SupplyRun.Simulate(study, scenario, trial, p, seed, run, holdLog)
                : PackRun.Simulate(study, scenario, trial, p, seed, run, holdLog))];
            progress?.Invoke(Interlocked.Increment(ref done));
        });

        var summaries = policies.Select(p => new Summary(p.Name)).ToList();
        foreach (var run in outcomes)
        {
            for (var p = 0; p < summaries.Count; p++)
            {
                summaries[p].Add(run[p]);
            }
        }

        return summaries;
    }
}
