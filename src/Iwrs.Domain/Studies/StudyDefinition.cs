namespace Iwrs.Domain.Studies;

// The study configuration as written in a studies/*.json file: every member nullable, because a file can
// omit anything. StudyConfiguration.Create turns it into a valid configuration or lists every problem.
// Property names map one-to-one to the camelCase JSON members.

public sealed record StudyDefinition
{
    public string? StudyId { get; init; }
    public int? Version { get; init; }
    public string? Title { get; init; }
    public string? Protocol { get; init; }
    public string? Status { get; init; }
    public DesignDefinition? Design { get; init; }
    public IReadOnlyList<ArmDefinition?>? Arms { get; init; }
    public RandomizationDefinition? Randomization { get; init; }
    public IReadOnlyList<KitTypeDefinition?>? KitTypes { get; init; }
    public VisitScheduleDefinition? VisitSchedule { get; init; }
    public SupplyDefinition? Supply { get; init; }
    public IReadOnlyList<SiteDefinition?>? Sites { get; init; }

    /// <summary>Why a value was chosen where the protocol is silent, keyed by the field it explains.</summary>
    public IReadOnlyDictionary<string, string>? Assumptions { get; init; }
}

public sealed record DesignDefinition
{
    /// <summary><c>randomized</c> or <c>single-arm</c>.</summary>
    public string? Allocation { get; init; }

    /// <summary><c>blinded</c> or <c>open-label</c>.</summary>
    public string? Blinding { get; init; }
}

public sealed record ArmDefinition
{
    public string? Code { get; init; }
    public string? Name { get; init; }
    public int? Ratio { get; init; }
    public string? KitType { get; init; }
}

public sealed record RandomizationDefinition
{
    /// <summary><c>permuted-block</c> for a randomized study; absent or <c>none</c> for a single-arm study.</summary>
    public string? Method { get; init; }
    public IReadOnlyList<int>? BlockSizes { get; init; }
    public bool? StratifyBySite { get; init; }
    public IReadOnlyList<StratificationFactorDefinition?>? StratificationFactors { get; init; }
}

public sealed record StratificationFactorDefinition
{
    public string? Code { get; init; }
    public string? Name { get; init; }
    public IReadOnlyList<string?>? Levels { get; init; }
}

public sealed record KitTypeDefinition
{
    public string? Code { get; init; }
    public string? Description { get; init; }
    public int? UnitsPerKit { get; init; }
    public string? Unit { get; init; }
}

public sealed record VisitScheduleDefinition
{
    /// <summary>Visits are named prefix + cycle number: C1, C2, ... C1 is the randomization or enrolment visit.</summary>
    public string? VisitPrefix { get; init; }
    public int? CycleLengthDays { get; init; }
    public int? WindowDays { get; init; }
    public int? DispensingVisits { get; init; }
    public int? KitsPerVisit { get; init; }
}

public sealed record SupplyDefinition
{
    public int? TriggerLevel { get; init; }
    public int? MaximumLevel { get; init; }
    public int? LeadTimeDays { get; init; }
    public int? DoNotDispenseDays { get; init; }

    /// <summary>The subject-pack supply design instead of a shared shelf (study level only).</summary>
    public SubjectPacksDefinition? SubjectPacks { get; init; }
}

public sealed record SubjectPacksDefinition
{
    public int? StarterSize { get; init; }
    public int? StarterTrigger { get; init; }
    public int? PackVisits { get; init; }
}

public sealed record SiteDefinition
{
    public string? SiteId { get; init; }
    public string? Name { get; init; }
    public string? Country { get; init; }
    public string? TimeZone { get; init; }
    public bool? Active { get; init; }
    public SupplyDefinition? Supply { get; init; }
}
