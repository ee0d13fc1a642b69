using System.Security.Cryptography;
using System.Text;
using Iwrs.Domain.Studies;
using Iwrs.Domain.Tests.Studies;

namespace Iwrs.Domain.Tests.Randomization;

/// <summary>Study configurations and seeds the randomization tests share, and their assertion helpers.</summary>
internal static class RandomizationStudies
{
    /// <summary>The known-answer seed: bytes 00 01 02 … 1f (see known_answer.py).</summary>
    public static byte[] KnownSeed { get; } = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    public static StudyConfiguration Lj { get; } = StudyFiles.Valid(StudyFiles.Lj);

    public static StudyConfiguration Akk { get; } = StudyFiles.Valid(StudyFiles.Akk);

    /// <summary>Arms A:B 1:1, blocks [2, 4], sites S1 and S2, not by site, no factors: the one stratum "all".</summary>
    public static StudyConfiguration Unstratified { get; } =
        StudyFiles.Valid(Definitions.Randomized().WithRandomization(r => r with { StratificationFactors = [] }));

    /// <summary>Arms A:B 1:1, blocks [2, 4], not by site, factor ecog 0/1: strata "ecog=0" and "ecog=1".</summary>
    public static StudyConfiguration ByEcog { get; } = StudyFiles.Valid(Definitions.Randomized());

    /// <summary>Stratified by site (S1, S2) and ecog 0/1.</summary>
    public static StudyConfiguration BySiteAndEcog { get; } =
        StudyFiles.Valid(Definitions.Randomized().WithRandomization(r => r with { StratifyBySite = true }));

    /// <summary>Arms A:B 2:1, blocks [3, 6], factor ecog 0/1.</summary>
    public static StudyConfiguration TwoToOne { get; } = StudyFiles.Valid(Definitions.Randomized()
        .WithArm(0, a => a with { Ratio = 2 })
        .WithRandomization(r => r with { BlockSizes = [3, 6] }));

    /// <summary>A seed derived from a label, so tests can use many different, reproducible seeds.</summary>
    public static byte[] Seed(string label) => SHA256.HashData(Encoding.UTF8.GetBytes(label));

    /// <summary>Asserts a validation failure whose field paths are exactly <paramref name="expected"/> (any order, with repeats).</summary>
    public static DomainError AssertInvalid<T>(Result<T> result, params string[] expected)
    {
        Assert.False(result.IsSuccess, "Expected a validation failure.");
        Assert.Equal("validation-failed", result.Error!.Code);
        Assert.NotNull(result.Error.Errors);
        Assert.Equal(
            expected.Order(StringComparer.Ordinal).ToArray(),
            result.Error.Errors.Select(e => e.Field).Order(StringComparer.Ordinal).ToArray());
        Assert.All(result.Error.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
        return result.Error;
    }

    /// <summary>Asserts exactly one validation error, on <paramref name="field"/>, whose reason mentions <paramref name="reasonPart"/>.</summary>
    public static void AssertSingleError<T>(Result<T> result, string field, string reasonPart)
    {
        var error = AssertInvalid(result, field);
        Assert.Contains(reasonPart, error.Errors![0].Reason, StringComparison.Ordinal);
    }

    public static T AssertOk<T>(Result<T> result)
    {
        Assert.True(result.IsSuccess, StudyFiles.Describe(result.Error));
        return result.Value;
    }
}
