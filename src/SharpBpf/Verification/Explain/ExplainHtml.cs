using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace SharpBpf.Verification.Explain;

/// <summary>
/// Writes an <see cref="ExplainReport"/> as one self-contained HTML page (inline style and script, nothing fetched):
/// the verdict and error with the failing instruction's state and the offending register's provenance chain at the top,
/// then the program with its C source lines, each instruction opening to every state seen there. The listing and the
/// top are plain HTML; the states are data the script renders on demand, with each state stored as its difference
/// from the one recorded before it, so that the page stays a few megabytes on the largest programs.
/// </summary>
public static class ExplainHtml
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The page as a string.</summary>
    public static string Render(ExplainReport report)
    {
        var writer = new StringWriter(Inv);
        Write(report, writer);
        return writer.ToString();
    }

    /// <summary>Writes the page to <paramref name="output"/>.</summary>
    public static void Write(ExplainReport report, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var failingPcs = report.FailingPath.Select(v => report.Visits[v].Pc).ToHashSet();
        string title = $"{report.ProgramName}: {(report.Accepted ? "accepted" : "rejected")}";

        output.Write("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        output.Write("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        output.Write($"<title>{E("SharpBPF explain - " + title)}</title>\n<style>{Style}</style>\n</head>\n<body>\n");
        output.Write($"<header><h1>{E(report.ProgramName)} <span class=\"{(report.Accepted ? "ok" : "bad")}\">{(report.Accepted ? "accepted" : "rejected")}</span></h1>\n");
        output.Write($"<p class=\"meta\">States from the {E(report.Origin)}. {E(report.Summary)}</p>\n");
        foreach (string note in report.Notes)
        {
            output.Write($"<p class=\"note\">Note: {E(note)}</p>\n");
        }

        output.Write("</header>\n");
        if (report.Error is { } error)
        {
            WriteError(report, error, output);
        }

        WriteListing(report, failingPcs, output);
        output.Write("<script type=\"application/json\" id=\"explain-data\">");
        WriteData(report, output);
        output.Write("</script>\n<script>");
        output.Write(Script);
        output.Write("</script>\n</body></html>\n");
    }

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");

    private static string I(int value) => value.ToString(Inv);

    private static ExplainInstruction? InstructionAt(ExplainReport report, int pc) =>
        report.Instructions.FirstOrDefault(i => i.Pc == pc);

    private static void WriteError(ExplainReport report, ExplainError error, TextWriter output)
    {
        output.Write("<section id=\"error\" class=\"panel\"><h2>Why the verifier refused it</h2>\n");
        output.Write($"<p class=\"errmsg\">{(error.Pc >= 0 ? $"insn {I(error.Pc)}: " : "")}{E(error.Message)}</p>\n");
        if (InstructionAt(report, error.Pc) is { } insn)
        {
            if (insn.Source is { } source)
            {
                output.Write($"<p class=\"src\">{E(VerifierFormat.SourceLine(source))}</p>\n");
            }

            output.Write($"<p class=\"code failcode\"><a href=\"#i{I(insn.Pc)}\">{I(insn.Pc)}: {E(insn.Text)}</a></p>\n");
        }

        if (report.FailingPath.Count > 0)
        {
            var last = report.Visits[report.FailingPath[^1]];
            output.Write($"<h3>State before the failing instruction{(last.Frame != 0 ? $" (frame {I(last.Frame)})" : "")}</h3>\n");
            WriteStateTable(report, last.State, error.Register, error.Frame, output);
            output.Write($"<p class=\"meta\">The failing path has {I(report.FailingPath.Count)} steps; its instructions are marked in the listing below.</p>\n");
        }

        if (report.Provenance.Count > 0)
        {
            output.Write($"<h3>Where did {E(error.Register)}'s value come from?</h3>\n<ol class=\"chain\">\n");
            foreach (var step in report.Provenance)
            {
                string role = step.Role switch
                {
                    ProvenanceRole.Used => "used here",
                    ProvenanceRole.Defined => "written",
                    ProvenanceRole.Tested => "tested",
                    _ => "held at entry",
                };
                var stepInsn = InstructionAt(report, step.Pc);
                output.Write($"<li style=\"margin-left:{(Math.Min(step.Depth, 12) * 1.5).ToString(Inv)}em\" class=\"{step.Role.ToString().ToLowerInvariant()}\">");
                output.Write($"<span class=\"role\">{role}</span> <a href=\"#i{I(step.Pc)}\">{I(step.Pc)}: {E(stepInsn?.Text)}</a>");
                string location = (step.Frame != 0 ? $"frame{I(step.Frame)} " : "") + step.Location;
                output.Write($" <span class=\"val\">{E(location)}={E(step.Value ?? "?")}</span>");
                if (stepInsn?.Source is { } stepSource)
                {
                    output.Write($"<br><span class=\"src\">{E(VerifierFormat.SourceLine(stepSource))}</span>");
                }

                output.Write("</li>\n");
            }

            output.Write("</ol>\n");
        }

        output.Write("</section>\n");
    }

    private static void WriteStateTable(ExplainReport report, int state, string? highlight, int highlightFrame, TextWriter output)
    {
        if (state < 0)
        {
            output.Write("<p class=\"note\">(this state was not recorded)</p>\n");
            return;
        }

        output.Write("<table class=\"state\"><tbody>\n");
        foreach (var value in report.StateValues(state))
        {
            bool hot = value.Slot == highlight && value.Frame == highlightFrame;
            output.Write($"<tr{(hot ? " class=\"hot\"" : "")}><th>{(value.Frame != 0 ? $"frame{I(value.Frame)} " : "")}{E(value.Slot)}</th><td>{E(value.Text)}</td></tr>\n");
        }

        output.Write("</tbody></table>\n");
    }

    private static void WriteListing(ExplainReport report, HashSet<int> failingPcs, TextWriter output)
    {
        var counts = new Dictionary<int, int>();
        foreach (var v in report.Visits)
        {
            counts[v.Pc] = counts.GetValueOrDefault(v.Pc) + 1;
        }

        // On the failing path, what each instruction changed (its last time there), as the log's "; R1=..." says.
        var changes = new Dictionary<int, string>();
        for (int k = 0; k + 1 < report.FailingPath.Count; k++)
        {
            var here = report.Visits[report.FailingPath[k]];
            var next = report.Visits[report.FailingPath[k + 1]];
            if (here.State >= 0 && next.State >= 0)
            {
                changes[here.Pc] = string.Join(" ", report.States[next.State].Except(report.States[here.State]).Select(id => report.Values[id].ToString()));
            }
        }

        output.Write("<section id=\"program\" class=\"panel\"><h2>The program</h2>\n");
        output.Write("<p class=\"meta\">Click an instruction for every state the verifier saw there, path by path.");
        output.Write(failingPcs.Count > 0 ? " <label><input type=\"checkbox\" id=\"only-path\"> only the failing path</label></p>\n" : "</p>\n");
        output.Write("<table id=\"listing\"><tbody>\n");
        SourceLine? previous = null;
        int row = 0;
        foreach (var insn in report.Instructions)
        {
            // Line 0 records (code the compiler gives no line) are left out, as a line of their own would say nothing.
            if (insn.Source is { Line: > 0 } source && (previous is null || previous.Line != source.Line || previous.FileName != source.FileName))
            {
                output.Write($"<tr class=\"srcrow{(failingPcs.Contains(insn.Pc) ? " onpath" : "")}\"><td></td><td colspan=\"3\">{E(VerifierFormat.SourceLine(source))}</td></tr>\n");
            }

            previous = insn.Source is { Line: > 0 } ? insn.Source : previous;
            int seen = counts.GetValueOrDefault(insn.Pc);
            int unrecorded = insn.Pc < report.UnrecordedVisits.Count ? report.UnrecordedVisits[insn.Pc] : 0;
            string cls = "insn" + (failingPcs.Contains(insn.Pc) ? " onpath" : "") + (report.Error?.Pc == insn.Pc ? " fail" : "") + (seen + unrecorded == 0 ? " unseen" : "");
            string visits = seen + unrecorded == 0 ? "not reached" : $"{I(seen + unrecorded)} state{(seen + unrecorded == 1 ? "" : "s")}";
            output.Write($"<tr id=\"i{I(insn.Pc)}\" class=\"{cls}\" data-row=\"{I(row)}\"><td class=\"pc\">{I(insn.Pc)}</td><td class=\"code\">{E(insn.Text)}</td><td class=\"visits\">{visits}</td><td class=\"after\">{E(changes.GetValueOrDefault(insn.Pc))}</td></tr>\n");
            row++;
        }

        output.Write("</tbody></table></section>\n");
    }

    /// <summary>
    /// The states as data: values <c>[frame, slot, text]</c>; states as <c>[base, ids...]</c> where <c>base</c> is the
    /// state this one is written against (-1 for none), a positive id adds value id-1 and a negative one removes value
    /// -id-1; per listing row the visits <c>[state, path, pruned, onFailingPath, frame]</c> and the unrecorded count; paths
    /// <c>[fromPc, startPc]</c>.
    /// </summary>
    private static void WriteData(ExplainReport report, TextWriter output)
    {
        // Only the values of recorded states go in (the recorder also saw values of states it only counted).
        var used = new Dictionary<int, int>();
        foreach (int id in report.States.SelectMany(s => s).Distinct().Order())
        {
            used[id] = used.Count;
        }

        var json = new StringBuilder();
        json.Append("{\"values\":[");
        foreach (var (id, index) in used)
        {
            var v = report.Values[id];
            json.Append(index > 0 ? "," : "").Append('[').Append(I(v.Frame)).Append(',').Append(JsonString(v.Slot)).Append(',').Append(JsonString(v.Text)).Append(']');
        }

        json.Append("],\"states\":[");
        var depth = new int[report.States.Count];
        for (int s = 0; s < report.States.Count; s++)
        {
            var state = report.States[s];
            json.Append(s > 0 ? "," : "").Append('[');
            if (s > 0 && depth[s - 1] < 48)
            {
                var before = report.States[s - 1];
                var added = state.Except(before).ToList();
                var removed = before.Except(state).ToList();
                if (added.Count + removed.Count < state.Length)
                {
                    depth[s] = depth[s - 1] + 1;
                    json.Append(I(s - 1));
                    foreach (int id in added)
                    {
                        json.Append(',').Append(I(used[id] + 1));
                    }

                    foreach (int id in removed)
                    {
                        json.Append(',').Append(I(-used[id] - 1));
                    }

                    json.Append(']');
                    continue;
                }
            }

            json.Append("-1");
            foreach (int id in state)
            {
                json.Append(',').Append(I(used[id] + 1));
            }

            json.Append(']');
        }

        json.Append("],\"rows\":[");
        var byPc = report.Visits.GroupBy(v => v.Pc).ToDictionary(g => g.Key, g => g.ToList());
        for (int r = 0; r < report.Instructions.Count; r++)
        {
            int pc = report.Instructions[r].Pc;
            json.Append(r > 0 ? "," : "").Append("[[");
            if (byPc.TryGetValue(pc, out var visits))
            {
                for (int k = 0; k < visits.Count; k++)
                {
                    var v = visits[k];
                    json.Append(k > 0 ? "," : "").Append('[').Append(I(v.State)).Append(',').Append(I(v.Path)).Append(',')
                        .Append(v.Kind == ExplainVisitKind.Pruned ? '1' : '0').Append(',').Append(v.OnFailingPath ? '1' : '0').Append(',').Append(I(v.Frame)).Append(']');
                }
            }

            json.Append("],").Append(I(pc < report.UnrecordedVisits.Count ? report.UnrecordedVisits[pc] : 0)).Append(']');
        }

        json.Append("],\"paths\":[");
        for (int p = 0; p < report.Paths.Count; p++)
        {
            json.Append(p > 0 ? "," : "").Append('[').Append(I(report.Paths[p].FromPc)).Append(',').Append(I(report.Paths[p].StartPc)).Append(']');
        }

        json.Append("],\"failPc\":").Append(I(report.Error?.Pc ?? -1)).Append('}');
        output.Write(json.ToString());
    }

    // System.Text.Json's default encoder escapes <, >, & and quotes, so the data cannot end the script element.
    private static string JsonString(string text) => JsonSerializer.Serialize(text);

    private const string Style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 3em;color:#1d1d1f;background:#fafafa}
        h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.2em;margin:.2em 0 .5em}h3{font-size:1em;margin:1em 0 .3em}
        .ok{color:#1a7f37}.bad{color:#c0392b}.meta{color:#555}.note{color:#8a6d00}
        .panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.8em 1em;margin:1em 0}
        .errmsg{font:600 1.05em ui-monospace,monospace;color:#c0392b;margin:.2em 0}
        .code,.src,.val,td,th{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
        .src{color:#6a737d}.failcode{background:#fdecea;padding:.2em .4em;border-radius:4px}
        table.state{border-collapse:collapse;margin:.2em 0}table.state th{text-align:left;padding:0 .8em 0 0;color:#444;font-weight:600;white-space:nowrap;vertical-align:top}
        table.state td{padding:0;white-space:normal;overflow-wrap:anywhere}table.state tr.hot{background:#ffe08a}
        ol.chain{padding-left:1.2em}ol.chain li{margin:.25em 0}.role{display:inline-block;min-width:6.5em;color:#555}
        li.used .role{color:#c0392b;font-weight:600}li.tested .role{color:#8a6d00}
        #listing{border-collapse:collapse}#listing td{padding:0 .6em;vertical-align:top;white-space:pre}
        #listing tr.insn{cursor:pointer}#listing tr.insn:hover{background:#eef3fb}
        #listing td.pc{text-align:right;color:#888;width:4em}#listing td.visits{color:#888;text-align:right}
        tr.srcrow td{color:#6a737d;padding-top:.3em}#listing td.after{color:#7a5a00;white-space:normal;overflow-wrap:anywhere;font-size:.9em;min-width:20em}tr.unseen td.code{color:#aaa}
        tr.onpath td.code{background:#fff4d6}tr.fail td{background:#fdecea!important;font-weight:600}
        body.only-path #listing tr:not(.onpath):not(.detail){display:none}
        tr.detail>td{white-space:normal;background:#f4f6f8;padding:.4em .8em;max-width:70em}
        .visit{display:inline-block;vertical-align:top;margin:.2em 1.2em .4em 0}.visit h4{margin:0;font-size:.9em;color:#555}
        .visit.fpath h4{color:#b06d00}.visit .pruned{color:#1a7f37}
        """;

    private const string Script = """
        (function(){
        var d=JSON.parse(document.getElementById('explain-data').textContent);
        var cache=[];
        function resolve(s){
          if(cache[s])return cache[s];
          var st=d.states[s],base=st[0],ids=base>=0?resolve(base).slice():[];
          for(var i=1;i<st.length;i++){var x=st[i];if(x>0)ids.push(x-1);else{var k=ids.indexOf(-x-1);if(k>=0)ids.splice(k,1);}}
          ids.sort(function(a,b){return order(d.values[a])-order(d.values[b]);});
          return cache[s]=ids;
        }
        function order(v){var s=v[1],n=v[0]*100000;
          if(s[0]==='R')return n+parseInt(s.substring(1),10);
          if(s.substring(0,3)==='fp-')return n+100+parseInt(s.substring(3),10);return n+99999;}
        function esc(t){return String(t).replace(/[&<>"']/g,function(c){return '&#'+c.charCodeAt(0)+';';});}
        function stateHtml(s){
          if(s<0)return '<em>(state not recorded)</em>';
          var h='<table class="state">';
          resolve(s).forEach(function(id){var v=d.values[id];
            h+='<tr><th>'+(v[0]?'frame'+v[0]+' ':'')+esc(v[1])+'</th><td>'+esc(v[2])+'</td></tr>';});
          return h+'</table>';
        }
        function toggle(tr,all){
          var next=tr.nextElementSibling;
          if(next&&next.classList.contains('detail')){next.remove();if(!all)return;}
          var row=d.rows[+tr.getAttribute('data-row')],visits=row[0],h='',shown=all?visits.length:Math.min(visits.length,100);
          if(!visits.length&&!row[1])h='<em>The verifier never reached this instruction.</em>';
          visits.slice(0,shown).forEach(function(v,i){var p=d.paths[v[1]];
            h+='<div class="visit'+(v[3]?' fpath':'')+'"><h4>#'+(i+1)+' path '+v[1]+(p[0]>=0?' (from '+p[0]+' to '+p[1]+')':' (entry)')+
              (v[4]?' frame'+v[4]:'')+(v[3]?' &middot; failing path':'')+(v[2]?' &middot; <span class="pruned">pruned: already proven safe</span>':'')+'</h4>'+stateHtml(v[0])+'</div>';});
          if(shown<visits.length)h+='<p><a href="#" class="more">show all '+visits.length+' states</a></p>';
          if(row[1])h+='<p class="note">'+row[1]+' more visit'+(row[1]>1?'s':'')+' not recorded (per-instruction cap).</p>';
          var det=document.createElement('tr');det.className='detail'+(tr.classList.contains('onpath')?' onpath':'');
          det.innerHTML='<td></td><td colspan="3">'+h+'</td>';tr.after(det);
          var more=det.querySelector('a.more');
          if(more)more.addEventListener('click',function(e){e.preventDefault();e.stopPropagation();toggle(tr,true);});
        }
        document.getElementById('listing').addEventListener('click',function(e){
          var tr=e.target.closest('tr.insn');if(tr)toggle(tr);});
        document.querySelectorAll('a[href^="#i"]').forEach(function(a){a.addEventListener('click',function(){
          var tr=document.getElementById(a.getAttribute('href').substring(1));
          if(tr&&!(tr.nextElementSibling&&tr.nextElementSibling.classList.contains('detail')))toggle(tr);});});
        var only=document.getElementById('only-path');
        if(only)only.addEventListener('change',function(e){document.body.classList.toggle('only-path',e.target.checked);});
        var fail=document.getElementById('i'+d.failPc);if(fail)toggle(fail);
        })();
        """;
}
