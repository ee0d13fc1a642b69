using System.Globalization;
using Iwrs.Domain.Studies;

namespace Iwrs.Domain.Supply;

/// <summary>One line of a depot's kit list.</summary>
public sealed record KitLine(string? KitNumber, string? KitType, string? Lot, string? Expiry);

// Lines may be null in a malformed body ({"kits":[null]}): Validate reports them rather than failing.

/// <summary>
/// Validates a kit list from the depot: every kit number unique and key-safe, a known kit type, a lot, and an
/// expiry date that is not already past. Every problem is listed with its line.
/// </summary>
public static class KitImport
{
    public const int MaxKits = 20_000;

    /// <summary>
    /// Validates <paramref name="lines"/>. <paramref name="existing"/> are the kits the study already has: a line that
    /// names one of them with another type, lot or expiry is refused (409 <c>kit-conflict</c>) before anything is
    /// written, and the numbering checks (<c>NumberingTellsType</c>, <see cref="NumberedInBalancedBlocks"/>) look
    /// at each batch (lot and expiry) with its kits already imported, so that a list numbered by type sent in parts,
    /// each too lopsided or too short to tell, is refused once the parts tell. Batches are judged apart: a blinded
    /// shipment comes from one batch, whose printed lot already tells it from the others, so numbers that differ between
    /// batches tell nothing more, while within a batch the numbers are all that tells kits apart.
    /// </summary>
    public static Result<IReadOnlyList<Kit>> Validate(StudyConfiguration study, IReadOnlyList<KitLine?> lines, DateOnly today, IReadOnlyList<Kit>? existing = null)
    {
        var errors = new List<FieldError>();
        if (lines.Count == 0)
        {
            errors.Add(new FieldError("kits", "the list is empty."));
        }

        if (lines.Count > MaxKits)
        {
            errors.Add(new FieldError("kits", $"at most {MaxKits} kits per import."));
        }

        var kits = new List<Kit>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Count && errors.Count < 200; i++)
        {
            var line = lines[i];
            var where = $"kits[{i}]";
            if (line is null)
            {
                errors.Add(new FieldError(where, "is null."));
                continue;
            }

            var ok = true;
            if (!IsKitNumber(line.KitNumber))
            {
                errors.Add(new FieldError(where + ".kitNumber", "must be 4 to 20 letters and digits."));
                ok = false;
            }
            else if (!seen.Add(line.KitNumber!))
            {
                errors.Add(new FieldError(where + ".kitNumber", $"'{line.KitNumber}' appears twice."));
                ok = false;
            }

            if (study.KitTypes.All(k => k.Code != line.KitType))
            {
                errors.Add(new FieldError(where + ".kitType", $"must be one of: {string.Join(", ", study.KitTypes.Select(k => k.Code))}."));
                ok = false;
            }

            if (string.IsNullOrWhiteSpace(line.Lot) || line.Lot.Length > 40 || !Identifiers.IsValid(line.Lot.Trim()))
            {
                errors.Add(new FieldError(where + ".lot", "is required: up to 40 letters, digits, '-', '_' or '.'."));
                ok = false;
            }

            if (!DateOnly.TryParseExact(line.Expiry, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var expiry))
            {
                errors.Add(new FieldError(where + ".expiry", "must be a date as yyyy-MM-dd."));
                ok = false;
            }
            else if (expiry <= today)
            {
                errors.Add(new FieldError(where + ".expiry", $"{line.Expiry} has already passed."));
                ok = false;
            }

            if (ok)
            {
                kits.Add(new Kit(line.KitNumber!, line.KitType!, line.Lot!.Trim(), expiry, KitStatus.AtDepot, Kit.Depot, null, null, null));
            }
        }

        if (errors.Count == 0 && study.KitTypes.Count > 1 && LooksOrderedByType(kits))
        {
            errors.Add(new FieldError("kits", "kit numbers appear to follow kit type (in number order the types run in long blocks); kit numbers must be random so that they reveal nothing."));
        }

        if (errors.Count == 0 && Conflicts(kits, existing) is { Count: > 0 } conflicts)
        {
            return new DomainError("kit-conflict", $"{conflicts.Count} kit(s) already exist with a different type, lot or expiry: {string.Join(", ", conflicts.Take(20))}. Nothing was imported.");
        }

        if (errors.Count == 0 && study.KitTypes.Count > 1 && NumberingRefusal(kits, existing) is { } refusal)
        {
            errors.Add(new FieldError("kits", refusal));
        }

        // One import per type would pass the runs check while numbering each type in its own range.
        if (errors.Count == 0 && study.IsBlinded && study.KitTypes.Any(t => kits.All(k => k.KitType != t.Code)))
        {
            errors.Add(new FieldError("kits", "in a blinded study every kit list carries every kit type, randomly numbered together, so that no range of numbers belongs to one type."));
        }

        if (errors.Count == 0 && study.IsBlinded && study.KitTypes.Count > 1 && SingleTypeBatches(study, kits) is { Count: > 0 } batches)
        {
            return new DomainError(
                UnmixedCode,
                "In a blinded study every lot and every expiry date carries every kit type: blinded staff count usable kits, which leave the count as their expiry nears, and a lot or date of one type would tell which kits left.",
                batches);
        }

        // Kept in kit-number order from here on: the file's order (often by type) must not show anywhere.
        return errors.Count > 0 ? DomainError.Validation(errors, "The kit list is not valid.") : kits.OrderBy(k => k.KitNumber, StringComparer.Ordinal).ToList();
    }

    /// <summary>The refusal of a blinded kit list with a lot or an expiry date that lacks a kit type (attacker review M1).</summary>
    public const string UnmixedCode = "kit-lot-not-mixed";

    /// <summary>
    /// The lines whose lot, whose expiry date, or whose lot and expiry together, lacks a kit type of the study. The resupply check and the shelf count
    /// only kits that last (<see cref="Dispensability.EarliestCountedExpiry"/>), and blinded staff see those counts but no
    /// expiries; if a date belonged to one type, the kits leaving the count on that date would all be of that type.
    /// </summary>
    private static List<FieldError> SingleTypeBatches(StudyConfiguration study, List<Kit> kits)
    {
        var types = study.KitTypes.Count;
        var lots = kits.GroupBy(k => k.Lot, StringComparer.Ordinal).Where(g => g.Select(k => k.KitType).Distinct().Count() < types).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var dates = kits.GroupBy(k => k.Expiry).Where(g => g.Select(k => k.KitType).Distinct().Count() < types).Select(g => g.Key).ToHashSet();
        var batches = kits.GroupBy(k => (k.Lot, k.Expiry)).Where(g => g.Select(k => k.KitType).Distinct().Count() < types).Select(g => g.Key).ToHashSet();
        var errors = new List<FieldError>();
        for (var i = 0; i < kits.Count && errors.Count < 200; i++)
        {
            var kit = kits[i];
            if (lots.Contains(kit.Lot))
            {
                errors.Add(new FieldError($"kits[{i}].lot", $"lot '{kit.Lot}' does not carry every kit type of the study."));
            }

            if (dates.Contains(kit.Expiry) && errors.Count < 200)
            {
                errors.Add(new FieldError($"kits[{i}].expiry", $"no kit of some type expires on {Kit.SortableExpiry(kit.Expiry)}; every expiry date must carry every kit type."));
            }
            else if (!lots.Contains(kit.Lot) && batches.Contains((kit.Lot, kit.Expiry)) && errors.Count < 200)
            {
                // Each lot and each date mixed, yet a lot with one date of one type (attacker review 14): the printed pair tells it.
                errors.Add(new FieldError($"kits[{i}].lot", $"lot '{kit.Lot}' with expiry {kit.Expiry:yyyy-MM-dd} does not carry every kit type of the study; every lot and expiry together must carry every kit type."));
            }
        }

        return errors;
    }

    public static bool IsKitNumber(string? value) =>
        value is { Length: >= 4 and <= 20 } && value.All(char.IsAsciiLetterOrDigit);

    /// <summary>
    /// Why the new kits' numbers would follow their type, or null. The numbering test (<c>NumberingTellsType</c>,
    /// stratified by batch) runs over the batches the new kits go into, with their kits already imported, and over the
    /// whole study with the new kits, unless the study's kits already fail it without them (imported before these
    /// checks): then only the batches touched are judged, so an old batch does not refuse every later import. The
    /// block test (<see cref="NumberedInBalancedBlocks"/>) runs on each batch touched.
    /// </summary>
    private static string? NumberingRefusal(IReadOnlyList<Kit> kits, IReadOnlyList<Kit>? existing)
    {
        static string BatchOf(Kit k) => $"{k.Lot}|{Kit.SortableExpiry(k.Expiry)}";
        static List<(string Number, string Type, string Batch)> Keyed(IEnumerable<Kit> set) => [.. set.Select(k => (k.KitNumber, k.KitType, BatchOf(k)))];
        var all = Together(kits, existing);
        var touched = kits.Select(BatchOf).ToHashSet(StringComparer.Ordinal);
        var inTouched = all.Where(k => touched.Contains(BatchOf(k))).ToList();
        var withOld = existing is { Count: > 0 } ? ", with the kits already imported" : string.Empty;
        if (NumberingTellsType(Keyed(inTouched)) is { } feature)
        {
            return $"kit numbers appear to follow kit type ({feature} tells the type far beyond chance{withOld}); kit numbers must be random so that they reveal nothing.";
        }

        if (existing is { Count: > 0 } && inTouched.Count < all.Count && NumberingTellsType(Keyed(existing)) is null && NumberingTellsType(Keyed(all)) is { } across)
        {
            return $"kit numbers appear to follow kit type ({across} tells the type far beyond chance over the study's batches with these kits); kit numbers must be random so that they reveal nothing.";
        }

        foreach (var batch in inTouched.GroupBy(k => (k.Lot, k.Expiry)).OrderBy(b => b.Key.Lot, StringComparer.Ordinal).ThenBy(b => b.Key.Expiry))
        {
            if (NumberedInBalancedBlocks([.. batch.Select(k => (k.KitNumber, k.KitType))]) is { } size)
            {
                return $"kit numbers appear to follow kit type (lot {batch.Key.Lot}, expiry {batch.Key.Expiry:yyyy-MM-dd}: in number order every {size} kits hold the types in their ratio, more often than chance{withOld}); kit numbers must be random so that they reveal nothing.";
            }
        }

        return null;
    }

    /// <summary>The study's kits with the new ones, each number once, as stored when it is (the import skips a kit sent again).</summary>
    private static List<Kit> Together(IReadOnlyList<Kit> kits, IReadOnlyList<Kit>? existing)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. (existing ?? []).Concat(kits).Where(k => seen.Add(k.KitNumber))];
    }

    /// <summary>The new kits already in the study with another type, lot or expiry.</summary>
    private static List<string> Conflicts(IReadOnlyList<Kit> kits, IReadOnlyList<Kit>? existing)
    {
        var stored = (existing ?? []).ToDictionary(k => k.KitNumber, StringComparer.Ordinal);
        return [.. kits.Where(k => stored.TryGetValue(k.KitNumber, out var old) && (old.KitType != k.KitType || old.Lot != k.Lot || old.Expiry != k.Expiry)).Select(k => k.KitNumber)];
    }

    /// <summary>
    /// The threshold on the Chernoff value below which windows of consecutive numbers are taken to be balanced on
    /// purpose. The windows of a random permutation are not independent, so the value is not a strict bound on the
    /// chance; attacker review 14 computed the exact chance at the threshold for windows of 2 at 1:1, 60 to 20,000 kits:
    /// at most 1.9e-8.
    /// </summary>
    public const double BalanceBound = 1e-7;

    /// <summary>
    /// Whether, in kit-number order, consecutive kits come in blocks that each hold the types exactly in their ratio far
    /// more often than chance (a list made in permuted blocks of consecutive numbers, 2 to 12 kits): then a kit's
    /// neighbours tell its type (in blocks of two, the other kit is the other type). For every window size w of 2-12
    /// at which the ratio comes out whole, and every offset, the number of complete windows holding exactly the ratio
    /// is compared with the hypergeometric chance of one; the block size is returned when the Chernoff value for so many
    /// balanced windows by chance is below <see cref="BalanceBound"/> (at least 10 windows), otherwise null.
    /// </summary>
    public static int? NumberedInBalancedBlocks(IReadOnlyList<(string Number, string Type)> kits)
    {
        ArgumentNullException.ThrowIfNull(kits);
        var n = kits.Count;
        var counts = kits.GroupBy(k => k.Type, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        if (n < 20 || counts.Count < 2)
        {
            return null;
        }

        var ordered = kits.OrderBy(k => k.Number, StringComparer.Ordinal).Select(k => k.Type).ToList();
        for (var w = 2; w <= 12; w++)
        {
            // The ratio in w kits, when it comes out whole (near enough: a list can end inside a block).
            var target = counts.ToDictionary(c => c.Key, c => (int)Math.Round((double)c.Value * w / n), StringComparer.Ordinal);
            if (target.Values.Sum() != w || counts.Any(c => Math.Abs(((double)c.Value * w / n) - target[c.Key]) > 0.1) || target.Values.Any(t => t == 0))
            {
                continue;
            }

            // The chance that w kits drawn at random hold exactly the ratio (multivariate hypergeometric).
            var logChance = counts.Sum(c => LogChoose(c.Value, target[c.Key])) - LogChoose(n, w);
            var chance = Math.Exp(logChance);
            for (var offset = 0; offset < w; offset++)
            {
                int windows = 0, balanced = 0;
                for (var start = offset; start + w <= n; start += w)
                {
                    windows++;
                    var window = ordered.GetRange(start, w);
                    balanced += target.All(t => window.Count(x => x == t.Key) == t.Value) ? 1 : 0;
                }

                if (windows >= 10 && ChernoffUpper(windows, balanced, chance) < BalanceBound)
                {
                    return w;
                }
            }
        }

        return null;
    }

    private static double LogChoose(int n, int k) =>
        ChiSquare.LogGamma(n + 1) - ChiSquare.LogGamma(k + 1) - ChiSquare.LogGamma(n - k + 1);

    /// <summary>Chernoff's bound on P(X ≥ k) for X binomial (n, p): exp(−n KL(k/n ‖ p)); 1 when k/n ≤ p.</summary>
    private static double ChernoffUpper(int n, int k, double p)
    {
        var q = (double)k / n;
        if (q <= p)
        {
            return 1;
        }

        var divergence = (q * Math.Log(q / p)) + (q < 1 ? (1 - q) * Math.Log((1 - q) / (1 - p)) : 0);
        return Math.Exp(-n * divergence);
    }

    /// <summary>The significance at which a feature of the numbers is taken to tell the type: far beyond chance, for every feature tested on every list.</summary>
    public const double NumberingSignificance = 1e-6;

    /// <summary>
    /// Whether kit numbers tell their type in a way a blinded person could read: their length, or the character at any
    /// one position counted from the start or from the end (a prefix per type, a type letter at the end, a length per
    /// type, a digit that follows a block). For each such feature, a chi-square test of independence between its value
    /// and the kit type over <paramref name="kits"/>, stratified by batch (each kit's expected type is its own batch's
    /// mix, so batches whose numbers and mixes differ tell nothing, while evidence from small batches adds up), with
    /// values too rare for the test (expected count under 5 for some type) pooled. The feature is named when the chance
    /// of a dependence that strong in randomly numbered kits is below <see cref="NumberingSignificance"/>; otherwise null.
    /// Under 20 kits, or when one type is too rare for any pooled value to expect 5 of it, nothing can be told. A scheme
    /// no single character shows (a checksum, a keyed code) is not caught: the depot's numbers must be random.
    /// </summary>
    public static string? NumberingTellsType(IReadOnlyList<(string Number, string Type)> kits) =>
        NumberingTellsType([.. (kits ?? throw new ArgumentNullException(nameof(kits))).Select(k => (k.Number, k.Type, Batch: string.Empty))]);

    /// <inheritdoc cref="NumberingTellsType(IReadOnlyList{ValueTuple{string, string}})"/>
    public static string? NumberingTellsType(IReadOnlyList<(string Number, string Type, string Batch)> kits)
    {
        ArgumentNullException.ThrowIfNull(kits);
        if (kits.Count < 20)
        {
            return null;
        }

        var types = kits.Select(k => k.Type).Distinct(StringComparer.Ordinal).ToList();
        if (types.Count < 2)
        {
            return null;
        }

        // Each batch's mix: the share of each type a kit of that batch is expected to have.
        var mixes = kits.GroupBy(k => k.Batch, StringComparer.Ordinal).ToDictionary(
            b => b.Key,
            b => types.ToDictionary(t => t, t => b.Count(k => k.Type == t) / (double)b.Count(), StringComparer.Ordinal),
            StringComparer.Ordinal);
        var longest = kits.Max(k => k.Number.Length);
        var features = new List<(string Name, Func<string, string> Value)>
        {
            ("the number's length", n => n.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        for (var i = 0; i < longest; i++)
        {
            var at = i;
            features.Add(($"character {at + 1}", n => at < n.Length ? n[at].ToString() : string.Empty));
            features.Add(($"character {at + 1} from the end", n => at < n.Length ? n[n.Length - 1 - at].ToString() : string.Empty));
        }

        return features.FirstOrDefault(f => IndependenceP(kits, f.Value, types, mixes) < NumberingSignificance).Name;
    }

    /// <summary>
    /// Pearson's chi-square test of independence between <paramref name="feature"/> and the type, each kit expected in
    /// its batch's mix, rare values pooled (Cochran's rule: every expected count at least 5). With one batch this is the
    /// plain test; over several, the statistic is no larger than a chi-square variable with the same freedom (each
    /// batch's within-batch variance is below the binomial one), so the test errs towards accepting.
    /// </summary>
    private static double IndependenceP(IReadOnlyList<(string Number, string Type, string Batch)> kits, Func<string, string> feature, List<string> types, Dictionary<string, Dictionary<string, double>> mixes)
    {
        // Per value of the feature: observed kits of each type, and expected ones (the sum of its kits' batch mixes).
        var cells = new Dictionary<string, (Dictionary<string, double> Observed, Dictionary<string, double> Expected)>(StringComparer.Ordinal);
        foreach (var kit in kits)
        {
            var value = feature(kit.Number);
            if (!cells.TryGetValue(value, out var cell))
            {
                cell = (types.ToDictionary(t => t, _ => 0.0, StringComparer.Ordinal), types.ToDictionary(t => t, _ => 0.0, StringComparer.Ordinal));
                cells[value] = cell;
            }

            cell.Observed[kit.Type]++;
            foreach (var type in types)
            {
                cell.Expected[type] += mixes[kit.Batch][type];
            }
        }

        static bool Testable((Dictionary<string, double> Observed, Dictionary<string, double> Expected) c) => c.Expected.Values.Min() >= 5 - 1e-9;
        var pooled = cells.Values.Where(Testable).ToList();
        var rare = cells.Values.Where(c => !Testable(c)).ToList();
        if (rare.Count > 0)
        {
            var rest = (Observed: types.ToDictionary(t => t, t => rare.Sum(c => c.Observed[t]), StringComparer.Ordinal), Expected: types.ToDictionary(t => t, t => rare.Sum(c => c.Expected[t]), StringComparer.Ordinal));
            if (Testable(rest) || pooled.Count == 0)
            {
                pooled.Add(rest);
            }
            else
            {
                // Too few to stand alone: joined to the largest value, which dilutes rather than invents a dependence.
                var largest = pooled.MaxBy(c => c.Expected.Values.Sum());
                pooled.Remove(largest);
                pooled.Add((types.ToDictionary(t => t, t => largest.Observed[t] + rest.Observed[t], StringComparer.Ordinal), types.ToDictionary(t => t, t => largest.Expected[t] + rest.Expected[t], StringComparer.Ordinal)));
            }
        }

        if (pooled.Count < 2 || !pooled.All(Testable))
        {
            return 1;
        }

        var statistic = pooled.Sum(c => types.Sum(t => (c.Observed[t] - c.Expected[t]) * (c.Observed[t] - c.Expected[t]) / c.Expected[t]));
        var freedom = (pooled.Count - 1) * (types.Count - 1);
        return ChiSquare.UpperTail(statistic, freedom);
    }

    /// <summary>
    /// A runs check: sorted by kit number, a randomly numbered list changes type about 1 + (n² − Σnᵢ²)/n
    /// times; a list numbered by type (all probiotic, then all placebo) changes once. Fewer than half the
    /// expected runs, on a list long enough to tell (20 kits or more), is refused.
    /// </summary>
    public static bool LooksOrderedByType(IReadOnlyList<Kit> kits)
    {
        if (kits.Count < 20)
        {
            return false;
        }

        var ordered = kits.OrderBy(k => k.KitNumber, StringComparer.Ordinal).Select(k => k.KitType).ToList();
        var runs = 1;
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i] != ordered[i - 1])
            {
                runs++;
            }
        }

        double n = ordered.Count;
        var sumSquares = ordered.GroupBy(t => t).Sum(g => (double)g.Count() * g.Count());
        var expected = 1 + (((n * n) - sumSquares) / n);
        return runs < expected / 2;
    }
}
