using System.Globalization;
using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Tests.Studies;

/// <summary>A small valid randomized study to vary one field at a time.</summary>
internal static class Definitions
{
    public static StudyDefinition Randomized() => new()
    {
        StudyId = "TEST-1",
        Version = 1,
        Title = "Test study",
        Protocol = "TP-001",
        Status = "setup",
        Design = new DesignDefinition { Allocation = "randomized", Blinding = "blinded" },
        Arms = [Arm("A", "Active", 1, "KA"), Arm("B", "Control", 1, "KB")],
        Randomization = new RandomizationDefinition
        {
            Method = "permuted-block",
            BlockSizes = [2, 4],
            StratifyBySite = false,
            StratificationFactors = [Factor("ecog", "0", "1")],
        },
        KitTypes = [Kit("KA", "Active bottle"), Kit("KB", "Control bottle")],
        VisitSchedule = new VisitScheduleDefinition { VisitPrefix = "C", CycleLengthDays = 21, WindowDays = 3, DispensingVisits = 10, KitsPerVisit = 1 },
        Supply = Supply(2, 6, 5, 7),
        Sites = [Site("S1", "DE", "Europe/Berlin"), Site("S2", "FR", "Europe/Paris")],
        Assumptions = new Dictionary<string, string> { ["supply"] = "Usual levels for a small study." },
    };

    public static ArmDefinition Arm(string code, string name, int ratio, string kitType) =>
        new() { Code = code, Name = name, Ratio = ratio, KitType = kitType };

    public static KitTypeDefinition Kit(string code, string description) =>
        new() { Code = code, Description = description, UnitsPerKit = 30, Unit = "capsule" };

    public static StratificationFactorDefinition Factor(string code, params string?[] levels) =>
        new() { Code = code, Name = "Factor " + code, Levels = levels };

    public static StratificationFactorDefinition FactorWithLevels(string code, int levelCount) =>
        Factor(code, Enumerable.Range(0, levelCount).Select(i => "L" + i.ToString(CultureInfo.InvariantCulture)).ToArray());

    public static SiteDefinition Site(string siteId, string country, string timeZone) =>
        new() { SiteId = siteId, Name = "Site " + siteId, Country = country, TimeZone = timeZone, Active = true };

    public static SupplyDefinition Supply(int? trigger, int? maximum, int? lead, int? dnd) =>
        new() { TriggerLevel = trigger, MaximumLevel = maximum, LeadTimeDays = lead, DoNotDispenseDays = dnd };

    public static StudyDefinition WithRandomization(this StudyDefinition d, Func<RandomizationDefinition, RandomizationDefinition> change) =>
        d with { Randomization = change(d.Randomization!) };

    public static StudyDefinition WithSite(this StudyDefinition d, int index, Func<SiteDefinition, SiteDefinition> change) =>
        d with { Sites = d.Sites!.Select((s, i) => i == index ? change(s!) : s).ToList() };

    public static StudyDefinition WithArm(this StudyDefinition d, int index, Func<ArmDefinition, ArmDefinition> change) =>
        d with { Arms = d.Arms!.Select((a, i) => i == index ? change(a!) : a).ToList() };
}
