using System.Text.Json.Serialization;

namespace Iwrs.Web.Api;

public sealed record FieldProblem(string Field, string Reason);

/// <summary>An RFC 9457 problem as the API sends it, with its stable <c>code</c> and field errors.</summary>
public sealed record ApiProblem(
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("detail")] string? Detail,
    [property: JsonPropertyName("errors")] IReadOnlyList<FieldProblem>? Errors)
{
    /// <summary>The field errors for one field (or for the fields under it, e.g. <c>kits[3]</c>).</summary>
    public IEnumerable<FieldProblem> For(string field) =>
        (Errors ?? []).Where(e => e.Field == field || e.Field.StartsWith(field + ".", StringComparison.Ordinal) || e.Field.StartsWith(field + "[", StringComparison.Ordinal));

    /// <summary>A plain sentence for the code; the API's own detail where we have no better words.</summary>
    public string Sentence => ProblemSentences.For(Code, Detail);
}

public sealed class ApiProblemException(ApiProblem problem) : Exception(problem.Sentence)
{
    public ApiProblem Problem { get; } = problem;
}

/// <summary>What each stable code means, in the words a site's staff would use.</summary>
public static class ProblemSentences
{
    private static readonly Dictionary<string, string> Sentences = new(StringComparer.Ordinal)
    {
        ["validation-failed"] = "Some of what you entered cannot be used. See the notes next to the fields.",
        ["invalid-json"] = "The request could not be read. Reload the page and try again.",
        ["missing-body"] = "The request was empty. Reload the page and try again.",
        ["authentication-required"] = "Your sign-in has expired. Sign in again.",
        ["not-authorized"] = "You are not allowed to do this.",
        ["not-authorized-for-study"] = "Your roles in this study do not allow this.",
        ["not-authorized-for-site"] = "Your roles at this site do not allow this.",
        ["unblinded-role-required"] = "Only unblinded staff may do this.",
        ["administrator-required"] = "Only an administrator may do this.",
        ["not-found"] = "There is nothing at this address.",
        ["study-not-found"] = "There is no such study among the studies you hold a role in.",
        ["site-not-found"] = "There is no such site in this study.",
        ["role-assignment-not-found"] = "That person does not hold that role.",
        ["subject-not-found"] = "There is no subject with that number in this study.",
        ["shipment-not-found"] = "There is no such shipment.",
        ["unknown-visit"] = "There is no such visit in this study's schedule.",
        ["subject-already-randomized-elsewhere"] = "This subject was already randomized at another site.",
        ["study-not-open"] = "The study is not open for randomization.",
        ["site-not-active"] = "This site is not active in the study.",
        ["eligibility-not-confirmed"] = "Confirm that the subject is eligible before randomizing.",
        ["no-active-list"] = "The study has no active randomization list yet. Ask the unblinded statistician.",
        ["list-exhausted"] = "The randomization list has no free place left in this stratum. Ask the unblinded statistician.",
        ["list-already-active"] = "The study already has an active randomization list.",
        ["randomization-not-applicable"] = "This study does not randomize: subjects are enrolled.",
        ["supply-hold"] = "The site is on supply hold: no subject can be randomized or dispensed until the next shipment is released here. The depot has been told.",
        ["no-kit-available"] = "There is no usable kit at the site for this subject. The depot has been told.",
        ["not-enough-stock"] = "The depot does not have enough kits for this shipment.",
        ["subject-discontinued"] = "This subject has stopped treatment; nothing more can be dispensed.",
        ["visit-out-of-order"] = "Visits are dispensed in order: dispense the earlier visit first.",
        ["visit-dispensed-at-randomization"] = "This visit's kit was given at randomization.",
        ["kit-conflict"] = "A kit in the list already exists with a different type, lot or expiry.",
        ["kit-import-in-progress"] = "Another kit list is being imported into this study; try again in a minute.",
        ["shipment-not-dispatched"] = "This shipment has not been dispatched yet.",
        ["shipment-already-dispatched"] = "This shipment was already dispatched.",
        ["shipment-not-received"] = "This shipment has not been fully received yet.",
        ["shipment-already-released"] = "This shipment was already released.",
        ["kit-not-found"] = "There is no such kit.",
        ["kit-not-on-shelf"] = "That kit is not on the site's shelf.",
        ["role-conflict"] = "Nobody may hold a blinded and an unblinded role in the same study.",
        ["write-conflict"] = "Someone else changed this at the same moment. Try again.",
        ["study-version-conflict"] = "A newer version of the study is loaded.",
        ["sms-user-not-found"] = "That person holds no role in this study.",
        ["request-too-large"] = "What you sent is too large. Send it in smaller parts.",
        ["storage-unavailable"] = "The service cannot reach its storage right now. Try again in a minute.",
        ["identity-provider-unavailable"] = "The sign-in service cannot be reached right now. Try again in a minute.",
        ["network-error"] = "The service cannot be reached. Check your connection and try again.",
    };

    public static string For(string code, string? detail) =>
        Sentences.TryGetValue(code, out var sentence) ? sentence : detail ?? "The request failed (" + code + ").";
}
