namespace Iwrs.Storage.Tests;

public sealed class TableKeysTests
{
    [Theory]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a#b")]
    [InlineData("a?b")]
    [InlineData("a\u0000b")]
    [InlineData("a\tb")]
    [InlineData("a\nb")]
    [InlineData("a\u001Fb")]
    [InlineData("a\u007Fb")]
    [InlineData("a\u0085b")]
    [InlineData("a\u009Fb")]
    [InlineData("")]
    public void Validate_ForbiddenKey_Throws(string key)
    {
        var ex = Assert.Throws<ArgumentException>(() => TableKeys.Validate(key, "pk"));

        Assert.Equal("pk", ex.ParamName);
    }

    [Theory]
    [InlineData("O'Brien")]
    [InlineData("Zürich")]
    [InlineData("日本")]
    [InlineData("emoji 🧪")]
    [InlineData("with space")]
    [InlineData("a\u00A0b")]
    [InlineData("kit|001")]
    [InlineData("50% & more = fine")]
    public void Validate_AllowedKey_Passes(string key)
    {
        TableKeys.Validate(key, "pk");
    }

    [Theory]
    [InlineData(new[] { 'a', '\ud83d' })]
    [InlineData(new[] { '\ude00', 'a' })]
    [InlineData(new[] { '\ud83d', '\ud83d', '\ude00' })]
    public void Validate_UnpairedSurrogate_Throws(char[] chars)
    {
        // Built from chars: a lone surrogate in a string attribute argument does not survive compilation.
        Assert.Throws<ArgumentException>(() => TableKeys.Validate(new string(chars), "pk"));
    }

    [Fact]
    public void Validate_LengthLimit_1024Allowed1025Refused()
    {
        TableKeys.Validate(new string('k', 1024), "rk");

        Assert.Throws<ArgumentException>(() => TableKeys.Validate(new string('k', 1025), "rk"));
    }

    [Fact]
    public void Validate_Null_ThrowsArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => TableKeys.Validate(null!, "pk"));
    }

    [Theory]
    [InlineData("abc", true)]
    [InlineData("A1b2C3", true)]
    [InlineData("ab", false)]
    [InlineData("1abc", false)]
    [InlineData("ab_c", false)]
    [InlineData("tables", false)]
    [InlineData("TABLES", false)]
    [InlineData("täble", false)]
    public void ValidateTableName_Cases(string name, bool valid)
    {
        var ex = Record.Exception(() => TableKeys.ValidateTableName(name, nameof(name)));

        Assert.Equal(valid, ex is null);
    }

    [Fact]
    public void ValidateTableName_LengthBounds()
    {
        TableKeys.ValidateTableName("a" + new string('b', 62), "name");

        Assert.Throws<ArgumentException>(() => TableKeys.ValidateTableName("a" + new string('b', 63), "name"));
    }
}
