namespace Iwrs.Deployment.Tests;

public sealed class ArmExpressionTests
{
    [Fact]
    public void Evaluate_FormatOverAReference_KeepsTheRuntimeValueApart()
    {
        var value = ArmExpression.Evaluate("[format('https://{0}/api/{1}', reference('/x/sites/app', '2024-11-01').defaultHostName, 'sms')]");

        Assert.Equal([new RuntimeValue("/x/sites/app", "defaultHostName")], ArmExpression.RuntimeValues(value));
        Assert.Equal("https://host/api/sms", ArmExpression.AsText(value, _ => "host"));
    }

    [Fact]
    public void Evaluate_EnvironmentAndEscapedQuotes_AreThePublicCloudAndOneQuote()
    {
        Assert.Equal("https://login.microsoftonline.com/t/v2.0", ArmExpression.AsText(ArmExpression.Evaluate("[format('{0}{1}/v2.0', environment().authentication.loginEndpoint, 't')]"), _ => ""));
        Assert.Equal("it's", ArmExpression.Evaluate("[format('{0}', 'it''s')]") is var v ? ArmExpression.AsText(v, _ => "") : null);
        Assert.Equal("[literal]", ArmExpression.Evaluate("[[literal]"));
    }

    [Fact]
    public void Evaluate_UnknownFunction_IsRefused()
    {
        Assert.Throws<NotSupportedException>(() => ArmExpression.Evaluate("[listKeys('/x', '2023-01-01').keys[0].value]"));
    }
}
