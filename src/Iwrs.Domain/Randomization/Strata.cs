using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Randomization;

/// <summary>
/// One combination of stratification levels. <see cref="Key"/> is canonical: <c>site=CN01;ecog=0;liver-mets=yes</c>
/// (site first when the study stratifies by site, then the factors in configuration order). Site ids, factor
/// codes and levels are identifiers, which never contain '=', ';' or ',', so the key needs no escaping in
/// storage keys or CSV. A study without strata has the single stratum <see cref="Strata.AllKey"/>.
/// </summary>
public sealed record Stratum(string Key, IReadOnlyList<KeyValuePair<string, string>> Levels);

public static class Strata
{
    /// <summary>The one stratum of a randomized study that stratifies by nothing.</summary>
    public const string AllKey = "all";

    /// <summary>The level name a site contributes to a stratum key; reserved as a factor code by the configuration.</summary>
    public const string SiteFactor = "site";

    /// <summary>
    /// Every stratum of a randomized study, as the cartesian product of the site list (when stratified by site)
    /// and each factor's levels, all in configuration order with the last factor varying fastest. This order is
    /// the order of <see cref="RandomizationList.Slots"/> and of the canonical list text, so it is part of the
    /// list's commitment. Empty for a single-arm study, which is enrolled, not randomized.
    /// </summary>
    public static IReadOnlyList<Stratum> All(StudyConfiguration study)
    {
        ArgumentNullException.ThrowIfNull(study);
        var scheme = study.Randomization;
        if (scheme is null)
        {
            return [];
        }

        var dimensions = new List<(string Code, IReadOnlyList<string> Levels)>();
        if (scheme.StratifyBySite)
        {
            dimensions.Add((SiteFactor, study.Sites.Select(s => s.SiteId).ToList()));
        }

        dimensions.AddRange(scheme.StratificationFactors.Select(f => (f.Code, f.Levels)));
        if (dimensions.Count == 0)
        {
            return [new Stratum(AllKey, [])];
        }

        var combinations = new List<List<KeyValuePair<string, string>>> { new() };
        foreach (var (code, levels) in dimensions)
        {
            combinations = combinations
                .SelectMany(prefix => levels.Select(level => new List<KeyValuePair<string, string>>(prefix) { new(code, level) }))
                .ToList();
        }

        return combinations.Select(levels => new Stratum(KeyOf(levels), levels)).ToList();
    }

    /// <summary>
    /// The stratum a subject at <paramref name="siteId"/> with these factor values falls into. Every configured
    /// factor must be given with one of its levels and nothing else may be given, because a silently ignored or
    /// defaulted factor would randomize the subject in the wrong stratum. The site must belong to the study even
    /// when the study does not stratify by site.
    /// </summary>
    public static Result<Stratum> For(StudyConfiguration study, string siteId, IReadOnlyDictionary<string, string>? factorValues)
    {
        ArgumentNullException.ThrowIfNull(study);
        var scheme = study.Randomization;
        if (scheme is null)
        {
            return NotApplicable(study);
        }

        var errors = new List<FieldError>();
        if (study.FindSite(siteId) is null)
        {
            errors.Add(new FieldError("siteId", $"'{siteId}' is not a site of study {study.StudyId}."));
        }

        var given = factorValues ?? new Dictionary<string, string>();
        var levels = new List<KeyValuePair<string, string>>();
        if (scheme.StratifyBySite)
        {
            levels.Add(new(SiteFactor, siteId));
        }

        foreach (var factor in scheme.StratificationFactors)
        {
            var field = "stratificationFactors." + factor.Code;
            if (!given.TryGetValue(factor.Code, out var value) || string.IsNullOrEmpty(value))
            {
                errors.Add(new FieldError(field, $"is required: one of {string.Join(", ", factor.Levels)}."));
            }
            else if (!factor.Levels.Contains(value, StringComparer.Ordinal))
            {
                errors.Add(new FieldError(field, $"'{value}' is not a level; use one of {string.Join(", ", factor.Levels)}."));
            }
            else
            {
                levels.Add(new(factor.Code, value));
            }
        }

        foreach (var code in given.Keys.Order(StringComparer.Ordinal))
        {
            if (scheme.StratificationFactors.All(f => f.Code != code))
            {
                errors.Add(new FieldError("stratificationFactors." + code, "is not a stratification factor of this study."));
            }
        }

        if (errors.Count > 0)
        {
            return DomainError.Validation(errors, "The stratification values are not valid.");
        }

        return levels.Count == 0 ? new Stratum(AllKey, []) : new Stratum(KeyOf(levels), levels);
    }

    /// <summary>The refusal for list and stratum operations on a single-arm study.</summary>
    internal static DomainError NotApplicable(StudyConfiguration study) =>
        new("randomization-not-applicable", $"Study {study.StudyId} is single-arm: subjects are enrolled, not randomized, so it has no strata or randomization list.");

    private static string KeyOf(IEnumerable<KeyValuePair<string, string>> levels) =>
        string.Join(';', levels.Select(l => l.Key + "=" + l.Value));
}
