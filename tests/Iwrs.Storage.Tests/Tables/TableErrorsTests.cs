using Iwrs.Storage.Tables;

namespace Iwrs.Storage.Tests.Tables;

public sealed class TableErrorsTests
{
    [Fact]
    public void Parse_HeaderAndJson_HeaderCodeWinsMessageFromBody()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["x-ms-error-code"] = "FromHeader" };

        var (code, message) = TableErrors.Parse(headers, "{\"odata.error\":{\"code\":\"FromBody\",\"message\":{\"lang\":\"en-US\",\"value\":\"Text.\"}}}");

        Assert.Equal("FromHeader", code);
        Assert.Equal("Text.", message);
    }

    [Theory]
    [InlineData("{\"odata.error\":{\"code\":\"C\",\"message\":{\"value\":\"M\"}}}", "C", "M")]
    [InlineData("{\"odata.error\":{\"code\":\"C\",\"message\":\"M\"}}", "C", "M")]
    [InlineData("<?xml version=\"1.0\"?><Error><Code>C</Code><Message>M</Message></Error>", "C", "M")]
    [InlineData("<?xml version=\"1.0\"?><error xmlns=\"http://schemas.microsoft.com/ado/2007/08/dataservices/metadata\"><code>C</code><message xml:lang=\"en-US\">M</message></error>", "C", "M")]
    [InlineData("<html><body>Bad gateway</body></html>", null, null)]
    [InlineData("{\"unexpected\":true}", null, null)]
    [InlineData("{not json", null, null)]
    [InlineData("<Error><Code>unclosed", null, null)]
    [InlineData("", null, null)]
    [InlineData("<!DOCTYPE x [<!ENTITY e \"boom\">]><Error><Code>&e;</Code></Error>", null, null)]
    public void ParseBody_VariousBodies_ReadsWhatItCan(string body, string? expectedCode, string? expectedMessage)
    {
        var (code, message) = TableErrors.ParseBody(body);

        Assert.Equal(expectedCode, code);
        Assert.Equal(expectedMessage, message);
    }

    [Fact]
    public void ParseBody_HugeMessage_Truncated()
    {
        var (_, message) = TableErrors.ParseBody("{\"odata.error\":{\"code\":\"C\",\"message\":{\"value\":\"" + new string('m', 5000) + "\"}}}");

        Assert.True(message!.Length <= 1025);
    }
}
