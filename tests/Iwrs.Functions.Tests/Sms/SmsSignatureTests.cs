using Twilio.Security;

namespace Iwrs.Functions.Tests.Sms;

/// <summary>Twilio's published example of a webhook signature (https://www.twilio.com/docs/usage/security#validating-requests).</summary>
public sealed class SmsSignatureTests
{
    private const string AuthToken = "12345";
    private const string Url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    private const string Expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    private static readonly Dictionary<string, string> Parameters = new(StringComparer.Ordinal)
    {
        ["CallSid"] = "CA1234567890ABCDE",
        ["Caller"] = "+14158675309",
        ["Digits"] = "1234",
        ["From"] = "+14158675309",
        ["To"] = "+18005551212",
    };

    [Fact]
    public void RequestValidator_PublishedVector_Valid() =>
        Assert.True(new RequestValidator(AuthToken).Validate(Url, Parameters, Expected));

    [Fact]
    public void RequestValidator_OneParameterChanged_Invalid()
    {
        var changed = new Dictionary<string, string>(Parameters) { ["Digits"] = "1235" };

        Assert.False(new RequestValidator(AuthToken).Validate(Url, changed, Expected));
        Assert.False(new RequestValidator("54321").Validate(Url, Parameters, Expected));
        Assert.False(new RequestValidator(AuthToken).Validate("https://mycompany.com/myapp.php?foo=1&bar=3", Parameters, Expected));
    }

    /// <summary>The tests' own signer, which signs every webhook the end-to-end tests post, reproduces the vector.</summary>
    [Fact]
    public void TestSigner_PublishedVector_SameSignature() => Assert.Equal(Expected, TwilioSignature.Sign(AuthToken, Url, Parameters));
}
