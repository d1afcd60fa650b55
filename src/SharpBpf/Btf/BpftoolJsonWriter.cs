using System.Text;

namespace SharpBpf.Btf;

/// <summary>
/// A streaming JSON writer with bpftool's layout (its <c>json_writer</c>): compact, or "pretty" with four-space
/// indentation where only object members start a new line, so that arrays read <c>[1,2]</c> and arrays of objects
/// <c>[{ ... },{ ... }]</c>. Commas and nesting are tracked; strings escape only <c>\t \n \r \f \b \\ "</c>.
/// </summary>
internal sealed class BpftoolJsonWriter(bool pretty)
{
    private readonly StringBuilder _out = new();
    private int _depth;
    private bool _separate;

    /// <summary>Whether members start on new, indented lines.</summary>
    public bool Pretty { get; } = pretty;

    /// <summary>Starts an object.</summary>
    public void StartObject() => Begin('{');

    /// <summary>Ends an object.</summary>
    public void EndObject() => End('}');

    /// <summary>Starts an array.</summary>
    public void StartArray() => Begin('[');

    /// <summary>Ends an array.</summary>
    public void EndArray() => End(']');

    /// <summary>Writes a member name; the value follows.</summary>
    public void Name(string name)
    {
        Separate();
        NewLine();
        _separate = false;
        Quote(name);
        _out.Append(Pretty ? ": " : ":");
    }

    /// <summary>Writes a value as given (a number, <c>true</c>, a pre-quoted string...).</summary>
    public void Raw(string text)
    {
        Separate();
        _out.Append(text);
    }

    /// <summary>Writes a quoted, escaped string value.</summary>
    public void String(string text)
    {
        Separate();
        Quote(text);
    }

    /// <summary>Ends the document as bpftool's writer does when destroyed: with a newline.</summary>
    public void Finish() => _out.Append('\n');

    /// <inheritdoc/>
    public override string ToString() => _out.ToString();

    private void Begin(char c)
    {
        Separate();
        _out.Append(c);
        _depth++;
        _separate = false;
    }

    private void End(char c)
    {
        _depth--;
        if (_separate)
        {
            NewLine();
        }

        _out.Append(c);
        _separate = true;
    }

    private void Separate()
    {
        if (_separate)
        {
            _out.Append(',');
        }

        _separate = true;
    }

    private void NewLine()
    {
        if (Pretty)
        {
            _out.Append('\n').Append(' ', 4 * _depth);
        }
    }

    private void Quote(string text)
    {
        _out.Append('"');
        foreach (char c in text)
        {
            _out.Append(c switch
            {
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                '\f' => "\\f",
                '\b' => "\\b",
                '\\' => "\\\\",
                '"' => "\\\"",
                _ => c.ToString(),
            });
        }

        _out.Append('"');
    }
}
