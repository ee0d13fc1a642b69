namespace Iwrs.Domain.Studies;

public static class StudyConfigurationMapping
{
    private static string Name(this Allocation a) => a == Allocation.Randomized ? "randomized" : "single-arm";

    private static string Name(this Blinding b) => b == Blinding.Blinded ? "blinded" : "open-label";

    private static string Name(this StudyStatus s) => s switch
    {
        StudyStatus.Setup => "setup",
        StudyStatus.Open => "open",
        _ => "closed",
    };

    /// <summary>
    /// The normalized definition of a valid configuration (trimmed text, site supply filled in). Its JSON is the
    /// canonical form that is stored and hashed, so loading the same file twice is recognised as no change.
    /// </summary>
    public static StudyDefinition ToDefinition(this StudyConfiguration c) => new()
    {
        StudyId = c.StudyId,
        Version = c.Version,
        Title = c.Title,
        Protocol = c.Protocol,
        Status = c.Status.Name(),
        Design = new DesignDefinition { Allocation = c.Allocation.Name(), Blinding = c.Blinding.Name() },
        Arms = c.Arms.Select(a => new ArmDefinition { Code = a.Code, Name = a.Name, Ratio = a.Ratio, KitType = a.KitType }).ToList(),
        Randomization = c.Randomization is null ? null : new RandomizationDefinition
        {
            Method = "permuted-block",
            BlockSizes = c.Randomization.BlockSizes,
            StratifyBySite = c.Randomization.StratifyBySite,
            StratificationFactors = c.Randomization.StratificationFactors
                .Select(f => new StratificationFactorDefinition { Code = f.Code, Name = f.Name, Levels = f.Levels.ToList() }).ToList(),
        },
        KitTypes = c.KitTypes.Select(k => new KitTypeDefinition { Code = k.Code, Description = k.Description, UnitsPerKit = k.UnitsPerKit, Unit = k.Unit }).ToList(),
        VisitSchedule = new VisitScheduleDefinition
        {
            VisitPrefix = c.VisitSchedule.VisitPrefix,
            CycleLengthDays = c.VisitSchedule.CycleLengthDays,
            WindowDays = c.VisitSchedule.WindowDays,
            DispensingVisits = c.VisitSchedule.DispensingVisits,
            KitsPerVisit = c.VisitSchedule.KitsPerVisit,
        },
        Supply = Supply(c.Supply) with
        {
            SubjectPacks = c.SubjectPacks is { } p ? new SubjectPacksDefinition { StarterSize = p.StarterSize, StarterTrigger = p.StarterTrigger, PackVisits = p.PackVisits } : null,
        },
        Sites = c.Sites.Select(s => new SiteDefinition
        {
            SiteId = s.SiteId, Name = s.Name, Country = s.Country, TimeZone = s.TimeZone, Active = s.Active, Supply = Supply(s.Supply),
        }).ToList(),
        Assumptions = new SortedDictionary<string, string>(c.Assumptions.ToDictionary(), StringComparer.Ordinal),
    };

    private static SupplyDefinition Supply(SupplySettings s) => new()
    {
        TriggerLevel = s.TriggerLevel, MaximumLevel = s.MaximumLevel, LeadTimeDays = s.LeadTimeDays, DoNotDispenseDays = s.DoNotDispenseDays,
    };

    /// <summary>
    /// What a blinded reader may see of a study: design, stratification factors (the site must supply them),
    /// schedule, sites. Arms, kit types and block sizes are withheld, in a blinded study only.
    /// </summary>
    public static StudySummary ToSummary(this StudyConfiguration c, bool unblinded)
    {
        var showBlindedData = unblinded || !c.IsBlinded;
        return new StudySummary(
            c.StudyId,
            c.Version,
            c.Title,
            c.Protocol,
            c.Status.Name(),
            c.Allocation.Name(),
            c.Blinding.Name(),
            showBlindedData ? c.Arms.Select(a => new ArmSummary(a.Code, a.Name, a.Ratio, a.KitType)).ToList() : null,
            showBlindedData ? c.KitTypes.Select(k => new KitTypeSummary(k.Code, k.Description, k.UnitsPerKit, k.Unit)).ToList() : null,
            showBlindedData ? c.Randomization?.BlockSizes : null,
            c.Randomization?.StratifyBySite ?? false,
            c.Randomization?.StratificationFactors.Select(f => new FactorSummary(f.Code, f.Name, f.Levels)).ToList() ?? [],
            c.VisitSchedule,
            c.Sites.Select(s => new SiteSummary(s.SiteId, s.Name, s.Country, s.TimeZone, s.Active)).ToList(),
            showBlindedData ? null : "Arms, kit types and block sizes are withheld from blinded roles.");
    }
}

public sealed record StudySummary(
    string StudyId,
    int Version,
    string Title,
    string? Protocol,
    string Status,
    string Allocation,
    string Blinding,
    IReadOnlyList<ArmSummary>? Arms,
    IReadOnlyList<KitTypeSummary>? KitTypes,
    IReadOnlyList<int>? BlockSizes,
    bool StratifyBySite,
    IReadOnlyList<FactorSummary> StratificationFactors,
    VisitSchedule VisitSchedule,
    IReadOnlyList<SiteSummary> Sites,
    string? Withheld);

public sealed record ArmSummary(string Code, string Name, int Ratio, string KitType);

public sealed record KitTypeSummary(string Code, string Description, int UnitsPerKit, string Unit);

public sealed record FactorSummary(string Code, string Name, IReadOnlyList<string> Levels);

public sealed record SiteSummary(string SiteId, string Name, string Country, string TimeZone, bool Active);
