namespace Iwrs.Domain.Studies;

public enum Allocation { Randomized, SingleArm }

public enum Blinding { Blinded, OpenLabel }

public enum StudyStatus { Setup, Open, Closed }

public sealed record Arm(string Code, string Name, int Ratio, string KitType);

public sealed record StratificationFactor(string Code, string Name, IReadOnlyList<string> Levels);

public sealed record RandomizationScheme(
    IReadOnlyList<int> BlockSizes,
    bool StratifyBySite,
    IReadOnlyList<StratificationFactor> StratificationFactors);

public sealed record KitType(string Code, string Description, int UnitsPerKit, string Unit);

public sealed record VisitSchedule(string VisitPrefix, int CycleLengthDays, int WindowDays, int DispensingVisits, int KitsPerVisit)
{
    /// <summary>The visit codes in order: C1 (randomization or enrolment) to C{DispensingVisits}.</summary>
    public IEnumerable<string> VisitCodes => Enumerable.Range(1, DispensingVisits).Select(n => VisitPrefix + n.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>Per kit type at one site: resupply when available kits fall below the trigger, up to the maximum.</summary>
public sealed record SupplySettings(int TriggerLevel, int MaximumLevel, int LeadTimeDays, int DoNotDispenseDays);

/// <summary>
/// The subject-pack supply design (<see cref="Supply.SubjectPacks"/>): starters of <paramref name="StarterSize"/> kits in
/// the allocation ratio serve randomizations only, a new one ordered while the randomizations a site's starters can serve
/// fall below <paramref name="StarterTrigger"/>; every later kit comes in a pack for its subject,
/// <paramref name="PackVisits"/> visits' kits at a time.
/// </summary>
public sealed record SubjectPackSettings(int StarterSize, int StarterTrigger, int PackVisits);

public sealed record Site(string SiteId, string Name, string Country, string TimeZone, bool Active, SupplySettings Supply);

/// <summary>
/// A study configuration that has passed every rule in <see cref="Create"/>: it cannot exist invalid.
/// </summary>
public sealed record StudyConfiguration
{
    /// <summary>Configurations are stored as one Table property (64 KiB, i.e. 32K UTF-16 characters).</summary>
    public const int MaxStratumCount = 1000;

    private StudyConfiguration()
    {
    }

    public required string StudyId { get; init; }
    public required int Version { get; init; }
    public required string Title { get; init; }
    public required string? Protocol { get; init; }
    public required StudyStatus Status { get; init; }
    public required Allocation Allocation { get; init; }
    public required Blinding Blinding { get; init; }
    public required IReadOnlyList<Arm> Arms { get; init; }
    public required RandomizationScheme? Randomization { get; init; }
    public required IReadOnlyList<KitType> KitTypes { get; init; }
    public required VisitSchedule VisitSchedule { get; init; }
    public required SupplySettings Supply { get; init; }

    /// <summary>Null: kits go on a shared site shelf; otherwise the subject-pack design.</summary>
    public SubjectPackSettings? SubjectPacks { get; init; }
    public required IReadOnlyList<Site> Sites { get; init; }
    public required IReadOnlyDictionary<string, string> Assumptions { get; init; }

    public bool IsBlinded => Blinding == Blinding.Blinded;

    public Site? FindSite(string siteId) => Sites.FirstOrDefault(s => s.SiteId == siteId);

    /// <summary>Validates a definition and lists every problem, each with the field it concerns.</summary>
    public static Result<StudyConfiguration> Create(StudyDefinition? definition)
    {
        if (definition is null)
        {
            return DomainError.Validation([new FieldError("$", "A study configuration object is required.")]);
        }

        var v = new Validator();
        var studyId = v.Identifier(definition.StudyId, "studyId");
        var version = v.Range(definition.Version, "version", 1, 1_000_000);
        var title = v.Text(definition.Title, "title", 300);
        var protocol = definition.Protocol is null ? null : v.Text(definition.Protocol, "protocol", 300);
        var status = v.Enum(definition.Status, "status", new Dictionary<string, StudyStatus>
        {
            ["setup"] = StudyStatus.Setup, ["open"] = StudyStatus.Open, ["closed"] = StudyStatus.Closed,
        });

        Allocation? allocation = null;
        Blinding? blinding = null;
        if (definition.Design is null)
        {
            v.Add("design", "is required.");
        }
        else
        {
            allocation = v.Enum(definition.Design.Allocation, "design.allocation", new Dictionary<string, Allocation>
            {
                ["randomized"] = Domain.Studies.Allocation.Randomized, ["single-arm"] = Domain.Studies.Allocation.SingleArm,
            });
            blinding = v.Enum(definition.Design.Blinding, "design.blinding", new Dictionary<string, Blinding>
            {
                ["blinded"] = Domain.Studies.Blinding.Blinded, ["open-label"] = Domain.Studies.Blinding.OpenLabel,
            });
            if (allocation == Domain.Studies.Allocation.SingleArm && blinding == Domain.Studies.Blinding.Blinded)
            {
                v.Add("design.blinding", "a single-arm study has nothing to blind; use open-label.");
            }
        }

        var kitTypes = ParseKitTypes(definition.KitTypes, v);
        var arms = ParseArms(definition.Arms, allocation, kitTypes, v);
        var randomization = ParseRandomization(definition.Randomization, allocation, arms, v);
        var schedule = ParseSchedule(definition.VisitSchedule, v);
        var supply = ParseSupply(definition.Supply, "supply", schedule, v);
        var sites = ParseSites(definition.Sites, supply, schedule, v);
        var packs = ParseSubjectPacks(definition.Supply?.SubjectPacks, arms, kitTypes, schedule, v);

        if (randomization is not null && sites is not null)
        {
            long strata = randomization.StratifyBySite ? sites.Count : 1;
            foreach (var factor in randomization.StratificationFactors)
            {
                strata = Math.Min(strata * factor.Levels.Count, MaxStratumCount + 1);
            }

            if (strata > MaxStratumCount)
            {
                v.Add("randomization.stratificationFactors", $"produce more than {MaxStratumCount} strata.");
            }
        }

        var assumptions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, text) in definition.Assumptions ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(text) || text.Length > 2000)
            {
                v.Add($"assumptions.{key}", "needs a field name and a text of at most 2000 characters.");
            }
            else
            {
                assumptions[key.Trim()] = text.Trim();
            }
        }

        if (v.Errors.Count > 0)
        {
            return DomainError.Validation(v.Errors, "The study configuration is not valid.");
        }

        return new StudyConfiguration
        {
            StudyId = studyId!,
            Version = version!.Value,
            Title = title!,
            Protocol = protocol,
            Status = status!.Value,
            Allocation = allocation!.Value,
            Blinding = blinding!.Value,
            Arms = arms!,
            Randomization = randomization,
            KitTypes = kitTypes!,
            VisitSchedule = schedule!,
            Supply = supply!,
            SubjectPacks = packs,
            Sites = sites!,
            Assumptions = assumptions,
        };
    }

    private static List<KitType>? ParseKitTypes(IReadOnlyList<KitTypeDefinition?>? definitions, Validator v)
    {
        if (definitions is null || definitions.Count == 0)
        {
            v.Add("kitTypes", "at least one kit type is required.");
            return null;
        }

        if (definitions.Count > Iwrs.Domain.Supply.Shipment.MaxKits)
        {
            // A blinded shipment carries one kit of every type, and a shipment holds at most MaxKits.
            v.Add("kitTypes", $"at most {Iwrs.Domain.Supply.Shipment.MaxKits} kit types: a shipment holds at most {Iwrs.Domain.Supply.Shipment.MaxKits} kits, and in a blinded study every shipment carries one kit of each type.");
            return null;
        }

        var result = new List<KitType>();
        for (var i = 0; i < definitions.Count; i++)
        {
            var path = $"kitTypes[{i}]";
            var d = definitions[i];
            if (d is null)
            {
                v.Add(path, "is null.");
                continue;
            }

            var code = v.Identifier(d.Code, path + ".code");
            var description = v.Text(d.Description, path + ".description", 200);
            var units = v.Range(d.UnitsPerKit, path + ".unitsPerKit", 1, 10_000);
            var unit = v.Text(d.Unit, path + ".unit", 40);
            if (code is not null && result.Any(k => k.Code == code))
            {
                v.Add(path + ".code", $"'{code}' is used twice.");
            }

            if (code is not null && description is not null && units is not null && unit is not null)
            {
                result.Add(new KitType(code, description, units.Value, unit));
            }
        }

        return result;
    }

    private static List<Arm>? ParseArms(IReadOnlyList<ArmDefinition?>? definitions, Allocation? allocation, List<KitType>? kitTypes, Validator v)
    {
        if (definitions is null || definitions.Count == 0)
        {
            v.Add("arms", "at least one arm is required.");
            return null;
        }

        if (allocation == Allocation.SingleArm && definitions.Count != 1)
        {
            v.Add("arms", "a single-arm study has exactly one arm.");
        }

        if (allocation == Allocation.Randomized && definitions.Count < 2)
        {
            v.Add("arms", "a randomized study needs at least two arms.");
        }

        var result = new List<Arm>();
        for (var i = 0; i < definitions.Count; i++)
        {
            var path = $"arms[{i}]";
            var d = definitions[i];
            if (d is null)
            {
                v.Add(path, "is null.");
                continue;
            }

            var code = v.Identifier(d.Code, path + ".code");
            var name = v.Text(d.Name, path + ".name", 200);
            var ratio = v.Range(d.Ratio, path + ".ratio", 1, 20);
            var kitType = v.Identifier(d.KitType, path + ".kitType");
            if (kitType is not null && kitTypes is not null && kitTypes.All(k => k.Code != kitType))
            {
                v.Add(path + ".kitType", $"'{kitType}' is not one of kitTypes.");
            }

            if (code is not null && result.Any(a => a.Code == code))
            {
                v.Add(path + ".code", $"'{code}' is used twice.");
            }

            // Two arms dispensing the same kit type would make the kit say nothing and the blind pointless.
            if (kitType is not null && result.Any(a => a.KitType == kitType))
            {
                v.Add(path + ".kitType", $"'{kitType}' is already the kit type of another arm; each arm needs its own.");
            }

            if (code is not null && name is not null && ratio is not null && kitType is not null)
            {
                result.Add(new Arm(code, name, ratio.Value, kitType));
            }
        }

        if (kitTypes is not null)
        {
            for (var i = 0; i < kitTypes.Count; i++)
            {
                if (result.All(a => a.KitType != kitTypes[i].Code))
                {
                    v.Add($"kitTypes[{i}].code", $"'{kitTypes[i].Code}' is not dispensed by any arm.");
                }
            }
        }

        return result;
    }

    private static RandomizationScheme? ParseRandomization(RandomizationDefinition? d, Allocation? allocation, List<Arm>? arms, Validator v)
    {
        if (allocation == Allocation.SingleArm)
        {
            if (d is not null && d.Method is not null and not "none")
            {
                v.Add("randomization.method", "a single-arm study is not randomized; omit randomization or use 'none'.");
            }

            return null;
        }

        if (allocation != Allocation.Randomized)
        {
            return null;
        }

        if (d is null)
        {
            v.Add("randomization", "is required for a randomized study.");
            return null;
        }

        if (d.Method != "permuted-block")
        {
            v.Add("randomization.method", "must be 'permuted-block'.");
        }

        var blockSizes = new List<int>();
        var ratioSum = arms?.Sum(a => a.Ratio) ?? 0;
        if (d.BlockSizes is null || d.BlockSizes.Count == 0)
        {
            v.Add("randomization.blockSizes", "at least one block size is required.");
        }
        else
        {
            for (var i = 0; i < d.BlockSizes.Count; i++)
            {
                var size = d.BlockSizes[i];
                var path = $"randomization.blockSizes[{i}]";
                if (size < 2 || size > 100)
                {
                    v.Add(path, "must be between 2 and 100.");
                }
                else if (ratioSum > 0 && size % ratioSum != 0)
                {
                    v.Add(path, $"{size} is not a multiple of the allocation ratio total {ratioSum}, so a block could not be balanced.");
                }
                else if (blockSizes.Contains(size))
                {
                    v.Add(path, $"{size} is listed twice.");
                }
                else
                {
                    blockSizes.Add(size);
                }
            }
        }

        var factors = new List<StratificationFactor>();
        var definitions = d.StratificationFactors ?? [];
        for (var i = 0; i < definitions.Count; i++)
        {
            var path = $"randomization.stratificationFactors[{i}]";
            var f = definitions[i];
            if (f is null)
            {
                v.Add(path, "is null.");
                continue;
            }

            var code = v.Identifier(f.Code, path + ".code");
            var name = v.Text(f.Name, path + ".name", 200);
            if (code is not null && (code == "site" || factors.Any(x => x.Code == code)))
            {
                v.Add(path + ".code", code == "site" ? "'site' is reserved; use stratifyBySite." : $"'{code}' is used twice.");
            }

            var levels = new List<string>();
            if (f.Levels is null || f.Levels.Count < 2)
            {
                v.Add(path + ".levels", "a factor needs at least two levels.");
            }
            else
            {
                for (var j = 0; j < f.Levels.Count; j++)
                {
                    var level = v.Identifier(f.Levels[j], $"{path}.levels[{j}]");
                    if (level is not null && levels.Contains(level))
                    {
                        v.Add($"{path}.levels[{j}]", $"'{level}' is listed twice.");
                    }
                    else if (level is not null)
                    {
                        levels.Add(level);
                    }
                }
            }

            if (code is not null && name is not null)
            {
                factors.Add(new StratificationFactor(code, name, levels));
            }
        }

        if (d.StratifyBySite is null)
        {
            v.Add("randomization.stratifyBySite", "is required (true or false).");
        }

        return new RandomizationScheme(blockSizes, d.StratifyBySite ?? false, factors);
    }

    private static VisitSchedule? ParseSchedule(VisitScheduleDefinition? d, Validator v)
    {
        if (d is null)
        {
            v.Add("visitSchedule", "is required.");
            return null;
        }

        var prefix = d.VisitPrefix is null ? "C" : v.Identifier(d.VisitPrefix, "visitSchedule.visitPrefix");
        var cycle = v.Range(d.CycleLengthDays, "visitSchedule.cycleLengthDays", 1, 365);
        var window = v.Range(d.WindowDays, "visitSchedule.windowDays", 0, 365);
        var visits = v.Range(d.DispensingVisits, "visitSchedule.dispensingVisits", 1, 500);
        var kits = v.Range(d.KitsPerVisit, "visitSchedule.kitsPerVisit", 1, 20);
        if (cycle is not null && window is not null && window * 2 >= cycle)
        {
            v.Add("visitSchedule.windowDays", "the visit window (±days) must be less than half a cycle, or consecutive windows overlap.");
        }

        return prefix is null || cycle is null || window is null || visits is null || kits is null
            ? null
            : new VisitSchedule(prefix, cycle.Value, window.Value, visits.Value, kits.Value);
    }

    private static SupplySettings? ParseSupply(SupplyDefinition? d, string path, VisitSchedule? schedule, Validator v)
    {
        if (d is null)
        {
            v.Add(path, "is required.");
            return null;
        }

        var trigger = v.Range(d.TriggerLevel, path + ".triggerLevel", 0, 10_000);
        var maximum = v.Range(d.MaximumLevel, path + ".maximumLevel", 1, 10_000);
        var lead = v.Range(d.LeadTimeDays, path + ".leadTimeDays", 0, 365);
        var dnd = v.Range(d.DoNotDispenseDays, path + ".doNotDispenseDays", 0, 3650);
        if (trigger is not null && maximum is not null && maximum <= trigger)
        {
            v.Add(path + ".maximumLevel", "must be above the trigger level.");
        }

        if (maximum is not null && schedule is not null && maximum < schedule.KitsPerVisit)
        {
            v.Add(path + ".maximumLevel", "must hold at least one visit's kits.");
        }

        return trigger is null || maximum is null || lead is null || dnd is null
            ? null
            : new SupplySettings(trigger.Value, maximum.Value, lead.Value, dnd.Value);
    }

    private static SubjectPackSettings? ParseSubjectPacks(
        SubjectPacksDefinition? d, IReadOnlyList<Arm>? arms, IReadOnlyList<KitType>? kitTypes, VisitSchedule? schedule, Validator v)
    {
        if (d is null)
        {
            return null;
        }

        const string path = "supply.subjectPacks";
        var size = v.Range(d.StarterSize, path + ".starterSize", 1, Iwrs.Domain.Supply.SubjectPacks.MaxShipmentKits);
        var trigger = v.Range(d.StarterTrigger, path + ".starterTrigger", 1, 1000);
        var visits = v.Range(d.PackVisits, path + ".packVisits", 1, 100);
        if (size is not null && arms is not null && kitTypes is not null && schedule is not null
            && Iwrs.Domain.Supply.SubjectPacks.InvalidStarterSize(arms, kitTypes, schedule.KitsPerVisit, size.Value) is { } why)
        {
            v.Add(path + ".starterSize", why + ".");
        }

        if (visits is not null && schedule is not null && visits > schedule.DispensingVisits)
        {
            v.Add(path + ".packVisits", "must not exceed the dispensing visits.");
        }
        else if (visits is not null && schedule is not null && visits * schedule.KitsPerVisit > Iwrs.Domain.Supply.SubjectPacks.MaxShipmentKits)
        {
            v.Add(path + ".packVisits", $"a pack of {visits} visits' {schedule.KitsPerVisit} kit(s) must fit in one shipment ({Iwrs.Domain.Supply.SubjectPacks.MaxShipmentKits} kits).");
        }

        return size is null || trigger is null || visits is null ? null : new SubjectPackSettings(size.Value, trigger.Value, visits.Value);
    }

    private static List<Site>? ParseSites(IReadOnlyList<SiteDefinition?>? definitions, SupplySettings? studySupply, VisitSchedule? schedule, Validator v)
    {
        if (definitions is null || definitions.Count == 0)
        {
            v.Add("sites", "at least one site is required.");
            return null;
        }

        var result = new List<Site>();
        for (var i = 0; i < definitions.Count; i++)
        {
            var path = $"sites[{i}]";
            var d = definitions[i];
            if (d is null)
            {
                v.Add(path, "is null.");
                continue;
            }

            var id = v.Identifier(d.SiteId, path + ".siteId");
            var name = v.Text(d.Name, path + ".name", 200);
            var country = d.Country is { Length: 2 } c && c.All(char.IsAsciiLetterUpper) ? c : null;
            if (country is null)
            {
                v.Add(path + ".country", "must be an ISO 3166-1 alpha-2 code such as 'CN'.");
            }

            var zone = v.Text(d.TimeZone, path + ".timeZone", 64);
            if (zone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _))
            {
                v.Add(path + ".timeZone", $"'{zone}' is not a known IANA time zone.");
                zone = null;
            }

            if (d.Active is null)
            {
                v.Add(path + ".active", "is required (true or false).");
            }

            var supply = d.Supply is null ? studySupply : ParseSupply(d.Supply, path + ".supply", schedule, v);
            if (d.Supply?.SubjectPacks is not null)
            {
                v.Add(path + ".supply.subjectPacks", "is set for the whole study only, under supply.");
            }

            if (id is not null && result.Any(s => s.SiteId == id))
            {
                v.Add(path + ".siteId", $"'{id}' is used twice.");
            }

            if (id is not null && name is not null && country is not null && zone is not null && d.Active is not null && supply is not null)
            {
                result.Add(new Site(id, name, country, zone, d.Active.Value, supply));
            }
        }

        return result;
    }

    /// <summary>Collects every error instead of stopping at the first, so a study manager fixes a file in one pass.</summary>
    private sealed class Validator
    {
        public List<FieldError> Errors { get; } = [];

        public void Add(string field, string reason) => Errors.Add(new FieldError(field, reason));

        public string? Identifier(string? value, string field)
        {
            if (value is null)
            {
                Add(field, "is required.");
                return null;
            }

            // Not starting with '-' either: codes are cells of the randomization list's CSV export, which is the committed
            // canonical text byte for byte, so a spreadsheet must not be able to take one for a formula.
            if (!Identifiers.IsValid(value) || value[0] == '-')
            {
                Add(field, $"must be {Identifiers.Rule}, not starting with '-'.");
                return null;
            }

            return value;
        }

        public string? Text(string? value, string field, int maxLength)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                Add(field, "is required.");
                return null;
            }

            if (value.Length > maxLength || value.Any(char.IsControl))
            {
                Add(field, $"must be at most {maxLength} characters without control characters.");
                return null;
            }

            return value.Trim();
        }

        public int? Range(int? value, string field, int min, int max)
        {
            if (value is null)
            {
                Add(field, "is required.");
                return null;
            }

            if (value < min || value > max)
            {
                Add(field, $"must be between {min} and {max}.");
                return null;
            }

            return value;
        }

        public T? Enum<T>(string? value, string field, Dictionary<string, T> allowed)
            where T : struct
        {
            if (value is not null && allowed.TryGetValue(value, out var result))
            {
                return result;
            }

            Add(field, value is null ? "is required." : $"must be one of: {string.Join(", ", allowed.Keys)}.");
            return null;
        }
    }
}
