using System.Text.Json;
using System.Text.Json.Serialization;
using Iwrs.Domain.Studies;
using Iwrs.Testing;

namespace Iwrs.Domain.Tests.Studies;

/// <summary>The seed study files, the JSON options they are read and written with, and assertion helpers.</summary>
internal static class StudyFiles
{
    /// <summary>How a studies/*.json file is read: web names, unknown members refused.</summary>
    public static readonly JsonSerializerOptions ReadOptions = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>How the API writes bodies and the canonical study JSON (web names, nulls left out).</summary>
    public static readonly JsonSerializerOptions ApiOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static StudyDefinition Lj => Read("lj-mcrc.json");

    public static StudyDefinition Akk => Read("akk-mcrc.json");

    public static StudyDefinition Read(string fileName)
    {
        var path = Path.Combine(AzuriteServer.RepositoryRoot(), "studies", fileName);
        return JsonSerializer.Deserialize<StudyDefinition>(File.ReadAllText(path), ReadOptions)
            ?? throw new InvalidOperationException(path + " holds null.");
    }

    public static StudyConfiguration Valid(StudyDefinition definition)
    {
        var result = StudyConfiguration.Create(definition);
        Assert.True(result.IsSuccess, Describe(result.Error));
        return result.Value;
    }

    /// <summary>Asserts a validation failure listing exactly <paramref name="expected"/> (in any order, with repeats).</summary>
    public static void AssertInvalid(Result<StudyConfiguration> result, params string[] expected)
    {
        Assert.False(result.IsSuccess, "Expected validation to fail.");
        Assert.Equal("validation-failed", result.Error!.Code);
        Assert.NotNull(result.Error.Errors);
        var actual = result.Error.Errors.Select(e => e.Field).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.Order(StringComparer.Ordinal).ToArray(), actual);
        Assert.All(result.Error.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
    }

    public static string Describe(DomainError? error) =>
        error is null
            ? "no error"
            : error.Code + ": " + string.Join("; ", (error.Errors ?? []).Select(e => e.Field + " " + e.Reason));

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, ApiOptions);
}
