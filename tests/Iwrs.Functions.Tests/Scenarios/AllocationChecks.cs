using System.Text.Json;

namespace Iwrs.Functions.Tests.Scenarios;

/// <summary>What concurrent randomizations must leave, through whichever door they came (HTTP or SMS).</summary>
public static class AllocationChecks
{
    /// <summary>
    /// <paramref name="subjects"/> (the unblinded statistician's view of every subject randomized): numbers 1..n each
    /// once, no kit twice, each stratum's slots used in order without gap or reuse in the order subjects were numbered,
    /// every subject the arm of its slot, and every block a stratum filled balanced 1:1.
    /// </summary>
    public static async Task AssertAsync(TrialDriver trial, string statistician, IReadOnlyList<JsonElement> subjects)
    {
        var count = subjects.Count;
        var numbers = subjects.Select(s => s.GetProperty("number").GetString()).ToList();
        Assert.Equal(Enumerable.Range(1, count).Select(i => $"R{i:D4}").Order(), numbers.Order());

        var kits = subjects.SelectMany(s => s.GetProperty("dispensations").EnumerateArray().Select(d => d.GetProperty("kitNumber").GetString())).ToList();
        Assert.Equal(count, kits.Distinct().Count());

        var export = await (await trial.Client(statistician)).GetStringAsync($"/api/studies/{trial.StudyId}/randomization-list/export");
        var slots = export.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split(','))
            .ToDictionary(f => (Stratum: f[0], Position: int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture)), f => (Block: f[2], Arm: f[4]));

        foreach (var group in subjects.GroupBy(s => s.GetProperty("stratum").GetString()!))
        {
            // Slots 1..n, each once, taken in the order the subjects were numbered.
            var byNumber = group.OrderBy(s => s.GetProperty("number").GetString(), StringComparer.Ordinal).ToList();
            var positions = byNumber.Select(s => s.GetProperty("listPosition").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(1, positions.Count), positions);

            // Every subject got the arm of its slot, and every block the stratum filled is balanced 1:1.
            foreach (var s in byNumber)
            {
                Assert.Equal(slots[(group.Key, s.GetProperty("listPosition").GetInt32())].Arm, s.GetProperty("arm").GetString());
            }

            var used = positions.ToHashSet();
            foreach (var block in slots.Where(kv => kv.Key.Stratum == group.Key).GroupBy(kv => kv.Value.Block))
            {
                if (block.All(kv => used.Contains(kv.Key.Position)))
                {
                    Assert.Equal(block.Count(kv => kv.Value.Arm == "LJ"), block.Count(kv => kv.Value.Arm == "PBO"));
                }
            }
        }
    }
}
